using System.Net;
using Countersign.ForwardAuth;
using Countersign.Tests.Infrastructure;
using static Countersign.Tests.ForwardAuth.ForwardAuthSteps;

namespace Countersign.Tests.ForwardAuth;

/// <summary>Two nodes of one deployment on one database and one Redis.</summary>
public abstract class ForwardAuthNodes(Database database) : IAsyncLifetime
{
    public ForwardAuthServer A { get; } = new(database, StateStore.Redis);
    public TestServer B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await A.InitializeAsync();
        B = new TestServer(database, StateStore.Redis) { ShareWith = A };
        await B.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
    }
}

public sealed class PostgresNodes() : ForwardAuthNodes(Database.Postgres);

public sealed class SqliteNodes() : ForwardAuthNodes(Database.Sqlite);

/// <summary>A change made through one node is refused by the other within a second (Redis pub/sub, and the change counter's poll).</summary>
public abstract class TwoNodeSuite(ForwardAuthNodes nodes)
{
    private readonly ForwardAuthSteps _a = new(nodes.A);
    private readonly ForwardAuthSteps _b = new(nodes.B);

    [Fact]
    public async Task Revoking_a_device_removing_a_grant_or_disabling_a_user_on_one_node_is_refused_by_the_other_within_a_second()
    {
        var service = "two" + Guid.NewGuid().ToString("N")[..8];
        var token = await _a.ServiceAsync(service, service + ".example.test");
        async Task<(string Name, string Cookie, string Access)> Granted()
        {
            var user = await _a.TotpUserAsync();
            var cookie = await _a.DeviceAsync(user);
            await _a.GrantAsync(user.Name, service);
            // Node B has it cached now.
            Assert.Equal(HttpStatusCode.OK, (await _b.Client.SendAsync(Verify(service, token, cookie))).StatusCode);
            return (user.Name, cookie, user.AccessToken);
        }
        var timings = new List<TimeSpan>();

        var device = await Granted();
        Assert.True(DeviceCookie.TryParse(device.Cookie, out var id, out _));
        Assert.Equal(HttpStatusCode.NoContent, (await _a.Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/devices/{id}", device.Access))).StatusCode);
        timings.Add(await UntilAsync(async () => (await _b.Client.SendAsync(Verify(service, token, device.Cookie))).StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(1)));

        var grant = await Granted();
        Assert.Equal(HttpStatusCode.NoContent, (await _a.Client.SendAsync(WithToken(HttpMethod.Delete,
            $"/api/admin/grants?user={grant.Name}&service={service}", await _a.AdminAsync()))).StatusCode);
        timings.Add(await UntilAsync(async () => (await _b.Client.SendAsync(Verify(service, token, grant.Cookie))).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(1)));

        var disabled = await Granted();
        await using (var scope = nodes.A.Services.CreateAsyncScope())
        {
            var admin = scope.ServiceProvider.GetRequiredService<Accounts.AccountAdmin>();
            await admin.SetDisabledAsync((await admin.FindAsync(disabled.Name))!, true, "test");
        }
        timings.Add(await UntilAsync(async () => (await _b.Client.SendAsync(Verify(service, token, disabled.Cookie))).StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(1)));

        var removed = await Granted();
        Assert.Equal(HttpStatusCode.NoContent,
            (await _a.Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/services/{service}", await _a.AdminAsync()))).StatusCode);
        timings.Add(await UntilAsync(async () => (await _b.Client.SendAsync(Verify(service, token, removed.Cookie))).StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(1)));
        Assert.All(timings, t => Assert.True(t < TimeSpan.FromSeconds(1)));
    }
}

public sealed class PostgresTwoNodeTests(PostgresNodes nodes) : TwoNodeSuite(nodes), IClassFixture<PostgresNodes>;

public sealed class SqliteTwoNodeTests(SqliteNodes nodes) : TwoNodeSuite(nodes), IClassFixture<SqliteNodes>;
