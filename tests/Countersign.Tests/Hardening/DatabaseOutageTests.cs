using System.Net;
using Countersign.Tests.Infrastructure;
using Npgsql;

namespace Countersign.Tests.Hardening;

/// <summary>A server whose PostgreSQL connections all pass through a relay the test can cut.</summary>
public sealed class RelayedPostgresServer() : TestServer(Database.Postgres, StateStore.Redis)
{
    public TcpRelay Relay { get; } = Start();

    private static TcpRelay Start()
    {
        var target = new NpgsqlConnectionStringBuilder(Required.Postgres);
        var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, target.Port));
        relay.Start();
        return relay;
    }

    protected override void Configure(Dictionary<string, string?> settings) =>
        settings["Storage:ConnectionString"] = new NpgsqlConnectionStringBuilder(settings["Storage:ConnectionString"]) { Port = Relay.Port, Timeout = 2 }.ConnectionString;

    public override async Task DisposeAsync()
    {
        Relay.Start();
        await base.DisposeAsync();
        await Relay.DisposeAsync();
    }
}

/// <summary>Issue 17: PostgreSQL down answers 503 problems (never a 500, never a half-written change) and recovers by itself.</summary>
public sealed class DatabaseOutageTests(RelayedPostgresServer server) : IClassFixture<RelayedPostgresServer>
{
    private const string Password = "violet Anchor 7 drifting kites";

    [Fact]
    public async Task Sign_in_answers_503_database_unavailable_while_postgres_is_down_and_works_again_when_it_returns()
    {
        using var http = server.CreateClient();
        var name = "user" + Guid.NewGuid().ToString("N")[..10];
        Assert.Equal(HttpStatusCode.Created, (await http.PostJson("/api/accounts", new { username = name, password = Password })).StatusCode);

        server.Relay.Stop();
        try
        {
            foreach (var (path, body) in new (string, object)[]
            {
                ("/api/auth/login", new { username = name, password = Password }),
                ("/api/accounts", new { username = name + "x", password = Password }),
            })
            {
                var refused = await http.PostJson(path, body);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Equal("database_unavailable", (await refused.Body()).GetProperty("error").GetString());
                Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
            }
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            server.Relay.Start();
        }

        // Back within seconds, without a restart; the refused registration left nothing behind.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        var status = (await http.PostJson("/api/auth/login", new { username = name, password = Password })).StatusCode;
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            status = (await http.PostJson("/api/auth/login", new { username = name, password = Password })).StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.Created, (await http.PostJson("/api/accounts", new { username = name + "x", password = Password })).StatusCode);
    }
}
