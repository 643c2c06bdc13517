using System.Net;
using Countersign.Accounts;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Admin;

/// <summary>
/// Removing the admin role from, or disabling, the last enabled administrator is refused in the API and the CLI (the
/// console calls the same service; ConsoleTests checks its page). One test per server, which starts with no administrator.
/// </summary>
public abstract class LastAdministratorSuite(TestServer server) : ApiSuiteBase(server)
{
    [Fact]
    public async Task The_last_administrator_keeps_the_role_and_stays_enabled_everywhere()
    {
        var first = await UserWithRoleAsync(Roles.Admin);
        var firstToken = await TokenAsync(first);
        var firstId = await WithScope(async sp => (await sp.GetRequiredService<AccountAdmin>().FindAsync(first))!.Id);

        foreach (var (method, path) in new[] { (HttpMethod.Delete, $"/api/admin/users/{firstId}/roles/admin"), (HttpMethod.Post, $"/api/admin/users/{firstId}/disable") })
        {
            var refused = await Client.SendAsync(WithToken(method, path, firstToken));
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("last_administrator", (await refused.Body()).GetProperty("error").GetString());
        }
        var (exit, _, error) = await CliRunner.RunAsync(Server.ConfigureBuilder, "users", "remove-role", first, "admin");
        Assert.Equal(1, exit);
        Assert.Contains("last_administrator", error, StringComparison.Ordinal);
        (exit, _, error) = await CliRunner.RunAsync(Server.ConfigureBuilder, "users", "disable", first);
        Assert.Equal(1, exit);
        Assert.Contains("last_administrator", error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/admin/users", firstToken))).StatusCode);

        // With a second administrator the first may step down; then the second is the last.
        var second = await UserWithRoleAsync(Roles.Admin);
        var secondId = await WithScope(async sp => (await sp.GetRequiredService<AccountAdmin>().FindAsync(second))!.Id);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/users/{firstId}/roles/admin", firstToken))).StatusCode);
        var secondToken = await TokenAsync(second);
        Assert.Equal(HttpStatusCode.Conflict, (await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/admin/users/{secondId}/disable", secondToken))).StatusCode);

        // A disabled administrator does not count: with the first back as admin but disabled, the second is still the last.
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Put, $"/api/admin/users/{firstId}/roles/admin", secondToken))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/admin/users/{firstId}/disable", secondToken))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/users/{secondId}/roles/admin", secondToken))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/admin/users/{firstId}/enable", secondToken))).StatusCode);

        // Two administrators demoting each other at the same moment: exactly one wins, one administrator remains.
        for (var round = 0; round < 5; round++)
        {
            var a = await UserWithRoleAsync(Roles.Admin);
            var b = await UserWithRoleAsync(Roles.Admin);
            await WithScope(async sp =>
            {
                // Leave only a and b as enabled administrators.
                var accounts = sp.GetRequiredService<AccountAdmin>();
                foreach (var other in (await sp.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<User>>().GetUsersInRoleAsync(Roles.Admin))
                    .Where(u => u.UserName != a && u.UserName != b && !u.IsDisabled))
                {
                    Assert.True(await accounts.RemoveRoleAsync(other, Roles.Admin, "test"));
                }
                return 0;
            });
            var (ta, tb) = (await TokenAsync(a), await TokenAsync(b));
            var (ida, idb) = await WithScope(async sp =>
            {
                var accounts = sp.GetRequiredService<AccountAdmin>();
                return ((await accounts.FindAsync(a))!.Id, (await accounts.FindAsync(b))!.Id);
            });
            var answers = await Task.WhenAll(
                Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/users/{idb}/roles/admin", ta)),
                Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/users/{ida}/roles/admin", tb)));
            Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.Conflict], answers.Select(r => r.StatusCode).Order());
            var remaining = await WithScope(async sp => (await sp.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<User>>()
                .GetUsersInRoleAsync(Roles.Admin)).Count(u => !u.IsDisabled));
            Assert.Equal(1, remaining);
        }
    }
}

public sealed class SqliteLastAdministratorTests(SqliteServerAlone server) : LastAdministratorSuite(server), IClassFixture<SqliteServerAlone>;

public sealed class PostgresLastAdministratorTests(PostgresServerAlone server) : LastAdministratorSuite(server), IClassFixture<PostgresServerAlone>;

/// <summary>A server of its own: the last-administrator rule counts every administrator on it.</summary>
public sealed class SqliteServerAlone() : TestServer(Database.Sqlite);

public sealed class PostgresServerAlone() : TestServer(Database.Postgres, StateStore.Redis);
