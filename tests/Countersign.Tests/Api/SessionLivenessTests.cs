using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Net;
using Countersign.Cli;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Countersign.Tests.Api;

/// <summary>Counts the database commands that read session families, per node.</summary>
public sealed class SessionReads : DbCommandInterceptor
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (command.CommandText.Contains("session_families", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _count);
        }
        return ValueTask.FromResult(result);
    }
}

/// <summary>A node of the two-node deployment below, with its own command counter.</summary>
public sealed class CountingNode() : TestServer(Database.Postgres, StateStore.Redis)
{
    public SessionReads Reads { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IInterceptor>(Reads);
}

public sealed class TwoCountingNodes : IAsyncLifetime
{
    public CountingNode A { get; } = new();
    public CountingNode B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await A.InitializeAsync();
        B = new CountingNode { ShareWith = A };
        await B.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
    }
}

/// <summary>
/// Issue 18: a warm node checks a session without the database, and an ended session is refused by the
/// other node within a second (PostgreSQL + Redis, two servers).
/// </summary>
public sealed class SessionLivenessTests(TwoCountingNodes nodes) : ApiSuiteBase(nodes.A), IClassFixture<TwoCountingNodes>
{
    private readonly HttpClient _b = nodes.B.CreateClient();

    private async Task<HttpStatusCode> MeOnB(string token) => (await _b.SendAsync(WithToken(HttpMethod.Get, "/api/me", token))).StatusCode;

    /// <summary>Seconds until node B refuses the token, polling every 20 ms, or fails after 5 s.</summary>
    private async Task<double> RefusedOnBWithinAsync(string token)
    {
        var clock = Stopwatch.StartNew();
        while (await MeOnB(token) == HttpStatusCode.OK)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "node B still accepts the ended session after 5 s");
            await Task.Delay(20);
        }
        return clock.Elapsed.TotalSeconds;
    }

    [Fact]
    public async Task A_warm_node_checks_the_session_without_reading_the_database()
    {
        var token = await TokenAsync(await RegisterAsync());
        var before = nodes.B.Reads.Count;
        Assert.Equal(HttpStatusCode.OK, await MeOnB(token));
        Assert.True(nodes.B.Reads.Count > before, "the first request on node B did not read the session (the counter sees nothing)");
        var warm = nodes.B.Reads.Count;
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await MeOnB(token));
        }
        Assert.Equal(warm, nodes.B.Reads.Count);
    }

    [Fact]
    public async Task A_logout_on_one_node_is_refused_by_the_other_within_a_second()
    {
        var tokens = await LoginAsync(await RegisterAsync());
        var access = tokens.GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await MeOnB(access));
        Assert.Equal(HttpStatusCode.OK, await MeOnB(access)); // now remembered by B
        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostJson("/api/auth/logout",
            new { refresh_token = tokens.GetProperty("refresh_token").GetString() })).StatusCode);
        Assert.True(await RefusedOnBWithinAsync(access) < 1.0);
    }

    [Fact]
    public async Task Disabling_an_account_from_the_cli_is_refused_by_a_warm_node_within_a_second()
    {
        var name = await RegisterAsync();
        var access = await TokenAsync(name);
        Assert.Equal(HttpStatusCode.OK, await MeOnB(access));
        Assert.Equal(HttpStatusCode.OK, await MeOnB(access));
        Assert.Equal(0, await CountersignCli.Create(Server.ConfigureBuilder).Parse(["users", "disable", name]).InvokeAsync());
        Assert.True(await RefusedOnBWithinAsync(access) < 1.0);
    }
}
