using System.Net;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Storage;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Countersign.Totp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using OtpNet;

namespace Countersign.Tests.Admin;

/// <summary>
/// A server with a clock the test moves (the drift check and step-up), and the per-address defences on, with limits no
/// suite reaches, so an address's counts can be read and reset.
/// </summary>
public class AdminServer(Database database, StateStore ephemeral) : TestServer(database, ephemeral)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        // Ten seconds into a 30-second step, so a code computed here is the server's for the whole test.
        var now = DateTimeOffset.UtcNow;
        Clock = new FakeTimeProvider(now.AddSeconds(-(now.ToUnixTimeSeconds() % Rfc6238.Period) + 10));
        settings["Defences:Captcha:Enabled"] = "true";
        settings["Defences:Captcha:AfterFailures"] = "3";
        settings["Defences:Captcha:MaxNumber"] = "2000";
        settings["Defences:RateLimits:Enabled"] = "true";
        settings["Defences:RateLimits:Login"] = "100000";
        settings["Defences:RateLimits:Registration"] = "100000";
        settings["Defences:RateLimits:SecondFactor"] = "100000";
        settings["Defences:RateLimits:Enrolment"] = "100000";
    }
}

public sealed class SqliteAdminServer() : AdminServer(Database.Sqlite, StateStore.Memory);

public sealed class PostgresAdminServer() : AdminServer(Database.Postgres, StateStore.Redis);

/// <summary><c>/api/admin/users</c>, <c>/api/admin/addresses</c> and their CLI twins, on SQLite with memory and PostgreSQL with Redis.</summary>
public abstract class AdminUsersSuite(AdminServer server) : ApiSuiteBase(server)
{
    private static readonly string[] Advisor = ["advisor"];
    private static readonly string[] Root = ["root"];

    private async Task<(string Name, string Token)> AdminAsync()
    {
        var name = await UserWithRoleAsync(Roles.Admin);
        return (name, await TokenAsync(name));
    }

    private async Task<Guid> IdOfAsync(string name) =>
        await WithScope(async sp => (await sp.GetRequiredService<AccountAdmin>().FindAsync(name))!.Id);

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, string token, object? body = null) =>
        Client.SendAsync(body is null ? WithToken(method, path, token) : WithToken(method, path, token, body));

    private Task<List<AuditEvent>> AuditAsync(string action, Guid? userId = null) =>
        WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents.AsNoTracking()
            .Where(e => e.Action == action && (userId == null || e.UserId == userId)).OrderBy(e => e.Id).ToListAsync());

    [Fact]
    public async Task An_admin_creates_a_user_with_a_one_time_password_the_user_must_change()
    {
        var (admin, token) = await AdminAsync();
        var name = NewName();
        var created = await Send(HttpMethod.Post, "/api/admin/users", token, new { username = name, roles = Advisor });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Body();
        var password = body.GetProperty("one_time_password").GetString()!;
        Assert.Matches("^[a-z2-9]{5}(-[a-z2-9]{5}){3}$", password);
        var id = Guid.Parse(body.GetProperty("id").GetString()!);
        Assert.Equal($"/api/admin/users/{id}", created.Headers.Location!.OriginalString);

        var detail = await (await Send(HttpMethod.Get, $"/api/admin/users/{id}", token)).Body();
        Assert.True(detail.GetProperty("password_change_required").GetBoolean());
        Assert.Equal(["advisor"], detail.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!));
        Assert.False(detail.GetProperty("second_factors").GetProperty("totp").GetBoolean());
        // The one-time password is the account's password, stored hashed, and signs in only with the new one the user chooses.
        var refused = await Login(name, password);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("password_change_required", (await refused.Body()).GetProperty("error").GetString());
        var hash = await WithScope(async sp => (await sp.GetRequiredService<CountersignDb>().Users.SingleAsync(u => u.Id == id)).PasswordHash!);
        Assert.DoesNotContain(password, hash, StringComparison.Ordinal);
        var audit = Assert.Single(await AuditAsync(AuditActions.UserCreated, id));
        Assert.Contains($"\"actor\":\"{admin}\"", audit.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(password, audit.Detail, StringComparison.Ordinal);

        var again = await Send(HttpMethod.Post, "/api/admin/users", token, new { username = name.ToUpperInvariant() });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("username_taken", (await again.Body()).GetProperty("error").GetString());
        var badRole = await Send(HttpMethod.Post, "/api/admin/users", token, new { username = NewName(), roles = Root });
        Assert.Equal("invalid_role", (await badRole.Body()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_user_list_pages_in_username_order_and_searches_by_prefix()
    {
        var (_, token) = await AdminAsync();
        var prefix = "pg" + Guid.NewGuid().ToString("N")[..6];
        var names = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            names.Add(await RegisterAsync($"{prefix}{(char)('e' - i)}"));
        }
        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await (await Send(HttpMethod.Get, $"/api/admin/users?search={prefix.ToUpperInvariant()}&limit=2{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}", token)).Body();
            var users = page.GetProperty("users").EnumerateArray().Select(u => u.GetProperty("username").GetString()!).ToList();
            Assert.InRange(users.Count, 1, 2);
            seen.AddRange(users);
            after = page.GetProperty("next_after").GetString();
        }
        while (after is not null);
        Assert.Equal(names.Order(StringComparer.Ordinal), seen);

        // Without a search the first page starts at the lowest name; a limit past the maximum is clamped.
        var all = await (await Send(HttpMethod.Get, "/api/admin/users?limit=100000", token)).Body();
        Assert.InRange(all.GetProperty("users").GetArrayLength(), 1, 200);
    }

    [Fact]
    public async Task Disable_enable_and_roles_are_audited_with_the_admins_name()
    {
        var (admin, token) = await AdminAsync();
        var name = await RegisterAsync();
        var id = await IdOfAsync(name);
        var userToken = await TokenAsync(name);

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Put, $"/api/admin/users/{id}/roles/client", token)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Put, $"/api/admin/users/{id}/roles/client", token)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/admin/users/{id}/roles/client", token)).StatusCode);
        Assert.Equal("invalid_role", (await (await Send(HttpMethod.Put, $"/api/admin/users/{id}/roles/root", token)).Body()).GetProperty("error").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Post, $"/api/admin/users/{id}/disable", token)).StatusCode);
        // Disabling ends the user's sessions at once, and the user cannot sign in.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "/api/me", userToken)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login(name, Password)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Post, $"/api/admin/users/{id}/enable", token)).StatusCode);
        await LoginAsync(name);

        foreach (var action in new[] { AuditActions.RoleAdded, AuditActions.RoleRemoved, AuditActions.UserDisabled, AuditActions.UserEnabled })
        {
            var row = Assert.Single(await AuditAsync(action, id));
            Assert.Contains($"\"actor\":\"{admin}\"", row.Detail, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, $"/api/admin/users/{Guid.NewGuid()}/disable", token)).StatusCode);
    }

    [Fact]
    public async Task Resetting_second_factors_removes_totp_recovery_codes_and_passkeys_and_ends_the_sessions()
    {
        var (admin, token) = await AdminAsync();
        var name = await RegisterAsync();
        var id = await IdOfAsync(name);
        var userToken = await TokenAsync(name);
        await EnrolTotpAsync(userToken);
        var before = await (await Send(HttpMethod.Get, $"/api/admin/users/{id}", token)).Body();
        Assert.True(before.GetProperty("second_factors").GetProperty("totp").GetBoolean());
        Assert.Equal(10, before.GetProperty("second_factors").GetProperty("recovery_codes_left").GetInt32());

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/admin/users/{id}/second-factors", token)).StatusCode);
        var after = await (await Send(HttpMethod.Get, $"/api/admin/users/{id}", token)).Body();
        Assert.False(after.GetProperty("second_factors").GetProperty("totp").GetBoolean());
        Assert.Equal(0, after.GetProperty("second_factors").GetProperty("recovery_codes_left").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "/api/me", userToken)).StatusCode);
        // The password alone signs in again, so the user can enrol a new app.
        await LoginAsync(name);
        var row = Assert.Single(await AuditAsync(AuditActions.TotpDisabled, id));
        Assert.Contains($"\"actor\":\"{admin}\"", row.Detail, StringComparison.Ordinal);
        Assert.Contains("\"passkeys_removed\":true", row.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_lists_a_users_sessions_and_revokes_one_or_all()
    {
        var (admin, token) = await AdminAsync();
        var name = await RegisterAsync();
        var id = await IdOfAsync(name);
        var first = await TokenAsync(name);
        var second = await TokenAsync(name);
        var third = await TokenAsync(name);
        var sessions = (await (await Send(HttpMethod.Get, $"/api/admin/users/{id}/sessions", token)).Body()).EnumerateArray().ToList();
        Assert.Equal(3, sessions.Count);
        var firstSid = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(first).GetClaim("sid").Value;

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/admin/users/{id}/sessions/{firstSid}", token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "/api/me", first)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "/api/me", second)).StatusCode);
        // Another account's session, or one already ended, is not found here.
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Delete, $"/api/admin/users/{id}/sessions/{firstSid}", token)).StatusCode);
        var adminSid = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token).GetClaim("sid").Value;
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Delete, $"/api/admin/users/{id}/sessions/{adminSid}", token)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/admin/users/{id}/sessions", token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "/api/me", second)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "/api/me", third)).StatusCode);
        Assert.Empty((await (await Send(HttpMethod.Get, $"/api/admin/users/{id}/sessions", token)).Body()).EnumerateArray());
        var rows = await AuditAsync(AuditActions.SessionRevoked, id);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Contains($"\"actor\":\"{admin}\"", r.Detail, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_drift_check_names_the_step_a_code_matches_without_spending_it()
    {
        var (admin, token) = await AdminAsync();
        var name = await RegisterAsync();
        var id = await IdOfAsync(name);
        var secret = await EnrolTotpAsync(await TokenAsync(name));
        var step = Rfc6238.StepAt(Server.Clock!.GetUtcNow());

        // A phone four steps (two minutes) slow.
        var slow = await (await Send(HttpMethod.Post, $"/api/admin/users/{id}/totp/drift", token, new { code = Rfc6238.Code(secret, step - 4), window = 5 })).Body();
        Assert.True(slow.GetProperty("matched").GetBoolean());
        Assert.Equal(-4, slow.GetProperty("offset_steps").GetInt32());
        Assert.Equal(-120, slow.GetProperty("offset_seconds").GetInt32());
        var outside = await (await Send(HttpMethod.Post, $"/api/admin/users/{id}/totp/drift", token, new { code = Rfc6238.Code(secret, step - 4), window = 3 })).Body();
        Assert.False(outside.GetProperty("matched").GetBoolean());

        // The current code, checked, still signs the user in: the check did not spend it.
        var current = Rfc6238.Code(secret, step + 1);
        Assert.Equal(1, (await (await Send(HttpMethod.Post, $"/api/admin/users/{id}/totp/drift", token, new { code = current })).Body()).GetProperty("offset_steps").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, totp_code = current })).StatusCode);

        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, $"/api/admin/users/{id}/totp/drift", token, new { code = current, window = 11 })).StatusCode);
        var plain = await IdOfAsync(await RegisterAsync());
        Assert.Equal("no_authenticator", (await (await Send(HttpMethod.Post, $"/api/admin/users/{plain}/totp/drift", token, new { code = "123456" })).Body()).GetProperty("error").GetString());
        var rows = await AuditAsync(AuditActions.TotpDriftChecked, id);
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Contains($"\"actor\":\"{admin}\"", r.Detail, StringComparison.Ordinal));
        Assert.All(rows, r => Assert.DoesNotContain(current, r.Detail, StringComparison.Ordinal));

        // The CLI's twin answers the same, and is audited as the CLI.
        var (exit, output, _) = await CliRunner.RunAsync(Server.ConfigureBuilder, "users", "drift", name, Rfc6238.Code(secret, step - 2));
        Assert.Equal(0, exit);
        Assert.Contains("-2 step(s) (-60 s)", output, StringComparison.Ordinal);
        Assert.Equal(4, (await AuditAsync(AuditActions.TotpDriftChecked, id)).Count);
    }

    [Fact]
    public async Task An_address_shows_its_failures_captcha_and_rate_limits_and_a_reset_clears_them()
    {
        var (admin, token) = await AdminAsync();
        const string Here = "127.0.0.1";
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/admin/addresses/{Here}", token)).StatusCode);
        var name = await RegisterAsync();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Login(name, "wrong" + i)).StatusCode);
        }
        Assert.Equal((HttpStatusCode)428, (await Login(name, Password)).StatusCode);
        var state = await (await Send(HttpMethod.Get, $"/api/admin/addresses/{Here}", token)).Body();
        Assert.Equal(Here, state.GetProperty("address").GetString());
        Assert.Equal(3, state.GetProperty("recent_failures").GetInt64());
        Assert.True(state.GetProperty("captcha_required").GetBoolean());
        var login = state.GetProperty("rate_limits").EnumerateArray().Single(r => r.GetProperty("route").GetString() == "login");
        Assert.Equal(4, login.GetProperty("count").GetInt64());
        Assert.Equal(100000, login.GetProperty("limit").GetInt32());

        // The CLI reads the same live state (through the server's admin socket with the in-memory store, Redis otherwise).
        var (exit, output, error) = await CliRunner.RunAsync(Server.ConfigureBuilder, "addresses", "show", Here);
        Assert.True(exit == 0, error);
        Assert.Contains("captcha required: yes", output, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/admin/addresses/{Here}", token)).StatusCode);
        var cleared = await (await Send(HttpMethod.Get, $"/api/admin/addresses/{Here}", token)).Body();
        Assert.Equal(0, cleared.GetProperty("recent_failures").GetInt64());
        Assert.False(cleared.GetProperty("captcha_required").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
        var row = (await AuditAsync(AuditActions.AddressReset)).Last();
        Assert.Contains($"\"actor\":\"{admin}\"", row.Detail, StringComparison.Ordinal);
        Assert.Contains($"\"address\":\"{Here}\"", row.Detail, StringComparison.Ordinal);

        (exit, output, error) = await CliRunner.RunAsync(Server.ConfigureBuilder, "addresses", "reset", "::ffff:10.0.0.1");
        Assert.True(exit == 0, error);
        Assert.Contains("Reset ::ffff:10.0.0.1.", output, StringComparison.Ordinal);
        Assert.Equal(2, (await CliRunner.RunAsync(Server.ConfigureBuilder, "addresses", "show", "not-an-ip")).Exit);

        foreach (var bad in new[] { "not-an-ip", "1.2.3.4.5", "%00", new string('1', 300) })
        {
            var refused = await Send(HttpMethod.Get, $"/api/admin/addresses/{Uri.EscapeDataString(bad)}", token);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_address", (await refused.Body()).GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Every_admin_route_refuses_a_non_admin_and_an_anonymous_caller()
    {
        var user = await TokenAsync(await RegisterAsync());
        var id = Guid.NewGuid();
        var routes = new (HttpMethod Method, string Path)[]
        {
            (HttpMethod.Get, "/api/admin/users"), (HttpMethod.Post, "/api/admin/users"), (HttpMethod.Get, $"/api/admin/users/{id}"),
            (HttpMethod.Post, $"/api/admin/users/{id}/disable"), (HttpMethod.Post, $"/api/admin/users/{id}/enable"),
            (HttpMethod.Put, $"/api/admin/users/{id}/roles/admin"), (HttpMethod.Delete, $"/api/admin/users/{id}/roles/admin"),
            (HttpMethod.Delete, $"/api/admin/users/{id}/second-factors"), (HttpMethod.Get, $"/api/admin/users/{id}/sessions"),
            (HttpMethod.Delete, $"/api/admin/users/{id}/sessions"), (HttpMethod.Delete, $"/api/admin/users/{id}/sessions/{id}"),
            (HttpMethod.Post, $"/api/admin/users/{id}/totp/drift"), (HttpMethod.Get, "/api/admin/addresses/127.0.0.1"),
            (HttpMethod.Delete, "/api/admin/addresses/127.0.0.1"),
        };
        foreach (var (method, path) in routes)
        {
            var forbidden = await Send(method, path, user, new { username = "x", code = "123456" });
            Assert.True(forbidden.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {forbidden.StatusCode}");
            var anonymous = await Client.SendAsync(new HttpRequestMessage(method, path));
            Assert.True(anonymous.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {anonymous.StatusCode}");
        }
    }

    /// <summary>Enrols and confirms TOTP at the server's (fake) clock; returns the secret.</summary>
    private async Task<byte[]> EnrolTotpAsync(string token)
    {
        var enrolment = await (await Send(HttpMethod.Post, "/api/me/totp", token)).Body();
        var secret = Base32Encoding.ToBytes(enrolment.GetProperty("secret").GetString()!);
        var step = Rfc6238.StepAt(Server.Clock!.GetUtcNow());
        var confirm = await Send(HttpMethod.Post, "/api/me/totp/confirm", token, new { code = Rfc6238.Code(secret, step - 1) });
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        return secret;
    }
}

public sealed class SqliteAdminUsersTests(SqliteAdminServer server) : AdminUsersSuite(server), IClassFixture<SqliteAdminServer>;

public sealed class PostgresAdminUsersTests(PostgresAdminServer server) : AdminUsersSuite(server), IClassFixture<PostgresAdminServer>;
