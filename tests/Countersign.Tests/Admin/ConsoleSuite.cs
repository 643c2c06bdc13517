using System.Net;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Storage;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.Admin;

/// <summary>
/// The admin console over real HTTP with a cookie session, as a browser uses it: the admin role, step-up
/// re-authentication for every change (ASVS V6), anti-forgery, post/redirect/get, and an audit row naming the administrator
/// for every change. On SQLite with memory and PostgreSQL with Redis.
/// </summary>
public abstract class ConsoleSuite(AdminServer server) : ApiSuiteBase(server)
{
    private async Task<(string Name, BrowserSession Browser)> AdminBrowserAsync()
    {
        var name = await UserWithRoleAsync(Roles.Admin);
        var browser = new BrowserSession(Server.BaseAddress);
        await browser.SignInAsync(name, Password);
        return (name, browser);
    }

    private Task<AuditEvent?> LastAsync(string action) =>
        WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents.AsNoTracking().Where(e => e.Action == action)
            .OrderByDescending(e => e.Id).FirstOrDefaultAsync());

    private Task<User?> FindAsync(string name) => WithScope(sp => sp.GetRequiredService<AccountAdmin>().FindAsync(name));

    [Fact]
    public async Task A_user_without_the_admin_role_gets_no_console_page_and_changes_nothing()
    {
        using var browser = new BrowserSession(Server.BaseAddress);
        await browser.SignInAsync(await RegisterAsync(), Password);
        foreach (var page in new[] { "/admin", "/admin/users", "/admin/defences", "/admin/pairs", "/admin/audit" })
        {
            var response = await browser.Client.GetAsync(page);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Contains("/login?ReturnUrl=", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }
        var token = await browser.TokenAsync("/account");
        var name = NewName();
        var post = await browser.PostFormAsync("/admin/users?handler=Create", token, ("NewUsername", name));
        Assert.Equal(HttpStatusCode.Redirect, post.StatusCode);
        Assert.Contains("/login?ReturnUrl=", post.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Null(await FindAsync(name));

        using var anonymous = new BrowserSession(Server.BaseAddress);
        Assert.Contains("/login?ReturnUrl=", (await anonymous.Client.GetAsync("/admin")).Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stale_session_is_sent_to_reauthenticate_and_a_fresh_one_makes_the_change()
    {
        var (admin, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var token = await browser.TokenAsync("/admin/users");
        var first = NewName();
        var created = await browser.PostFormAsync("/admin/users?handler=Create", token, ("NewUsername", first));
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        Assert.StartsWith("/admin/users/", created.Headers.Location!.OriginalString, StringComparison.Ordinal);
        // Post/redirect/get: the one-time password is on the page the redirect leads to, once.
        var page = await browser.Client.GetStringAsync(created.Headers.Location);
        Assert.Matches("[a-z2-9]{5}(-[a-z2-9]{5}){3}", page);
        Assert.DoesNotMatch("[a-z2-9]{5}(-[a-z2-9]{5}){3}", await browser.Client.GetStringAsync(created.Headers.Location));
        Assert.NotNull(await FindAsync(first));

        // Eleven minutes after the sign-in the session still reads, but a change is sent to /reauth first.
        Server.Clock!.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync("/admin/users")).StatusCode);
        var second = NewName();
        var stale = await browser.PostFormAsync("/admin/users?handler=Create", token, ("NewUsername", second));
        Assert.Equal(HttpStatusCode.Redirect, stale.StatusCode);
        Assert.Equal("/reauth?returnUrl=%2Fadmin%2Fusers", stale.Headers.Location!.OriginalString);
        Assert.Null(await FindAsync(second));

        // A wrong password changes nothing and says nothing more than "did not match".
        var reauthToken = await browser.TokenAsync("/reauth?returnUrl=%2Fadmin%2Fusers");
        var wrong = await browser.PostFormAsync("/reauth?handler=Password", reauthToken, ("Password", "wrong"), ("ReturnUrl", "/admin/users"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("role=\"alert\"", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostFormAsync("/admin/users?handler=Create", token, ("NewUsername", second))).StatusCode);
        Assert.Null(await FindAsync(second));

        var fresh = await browser.PostFormAsync("/reauth?handler=Password", reauthToken, ("Password", Password), ("ReturnUrl", "/admin/users"));
        Assert.Equal(HttpStatusCode.Redirect, fresh.StatusCode);
        Assert.Equal("/admin/users", fresh.Headers.Location!.OriginalString);
        var reauth = (await LastAsync(AuditActions.Reauthenticated))!;
        Assert.Equal(admin, reauth.Username);
        Assert.Contains("\"factor\":\"password\"", reauth.Detail, StringComparison.Ordinal);
        var made = await browser.PostFormAsync("/admin/users?handler=Create", token, ("NewUsername", second));
        Assert.StartsWith("/admin/users/", made.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.NotNull(await FindAsync(second));

        // Ten more minutes and it is stale again; a return URL off this site is never followed.
        Server.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        Assert.StartsWith("/reauth", (await browser.PostFormAsync("/admin/users?handler=Create", token, ("NewUsername", NewName()))).Headers.Location!.OriginalString, StringComparison.Ordinal);
        foreach (var hostile in new[] { "//evil.example/", "https://evil.example/", "/\\evil.example" })
        {
            var away = await browser.PostFormAsync("/reauth?handler=Password", reauthToken, ("Password", Password), ("ReturnUrl", hostile));
            Assert.Equal("/admin", away.Headers.Location!.OriginalString);
        }
    }

    [Fact]
    public async Task A_console_form_without_its_anti_forgery_token_is_refused()
    {
        var (_, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var name = NewName();
        var response = await browser.Client.PostAsync("/admin/users?handler=Create", new FormUrlEncodedContent([new("NewUsername", name)]));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(await FindAsync(name));
    }

    [Fact]
    public async Task Every_console_change_writes_its_audit_row_with_the_admins_name()
    {
        var (admin, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var token = await browser.TokenAsync("/admin");
        var target = await RegisterAsync();
        var id = (await FindAsync(target))!.Id;
        await TokenAsync(target);
        var advisor = await UserWithRoleAsync(Roles.Advisor);
        var client = await UserWithRoleAsync(Roles.Client);
        var user = $"/admin/users/{id}";

        async Task ExpectAsync(string path, string action, params (string, string)[] fields)
        {
            var before = (await LastAsync(action))?.Id ?? 0;
            var response = await browser.PostFormAsync(path, token, fields);
            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{path}: {response.StatusCode}");
            Assert.False(response.Headers.Location!.OriginalString.StartsWith("/reauth", StringComparison.Ordinal), path);
            var row = await LastAsync(action);
            Assert.True(row is not null && row.Id > before, $"{path} wrote no {action} row");
            Assert.Contains($"\"actor\":\"{admin}\"", row!.Detail, StringComparison.Ordinal);
        }

        await ExpectAsync("/admin/users?handler=Create", AuditActions.UserCreated, ("NewUsername", NewName()));
        await ExpectAsync($"{user}?handler=AddRole", AuditActions.RoleAdded, ("Role", "client"));
        await ExpectAsync($"{user}?handler=RemoveRole", AuditActions.RoleRemoved, ("Role", "client"));
        var sid = (await WithScope(sp => sp.GetRequiredService<CountersignDb>().SessionFamilies.Where(f => f.UserId == id && f.RevokedAt == null).Select(f => f.Id).FirstAsync())).ToString();
        await ExpectAsync($"{user}?handler=RevokeSession", AuditActions.SessionRevoked, ("SessionId", sid));
        await ExpectAsync($"{user}?handler=RevokeAll", AuditActions.SessionRevoked);
        await ExpectAsync($"{user}?handler=ResetFactors", AuditActions.TotpDisabled);
        await ExpectAsync($"{user}?handler=Disable", AuditActions.UserDisabled);
        await ExpectAsync($"{user}?handler=Enable", AuditActions.UserEnabled);
        await ExpectAsync("/admin/defences?handler=Unlock", AuditActions.LockoutCleared, ("Username", target));
        await ExpectAsync("/admin/defences?handler=ResetAddress", AuditActions.AddressReset, ("Address", "192.0.2.7"));
        await ExpectAsync("/admin/defences?handler=Drift", AuditActions.TotpDriftChecked, ("Username", advisor), ("Code", "123456"), ("Window", "2"));
        await ExpectAsync("/admin/pairs?handler=Add", AuditActions.PairCreated, ("Advisor", advisor), ("Client", client));
        var advisorId = (await FindAsync(advisor))!.Id;
        var pairId = (await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<CallVerification.Pair>().Where(p => p.AdvisorId == advisorId)
            .Select(p => p.Id).SingleAsync())).ToString();
        await ExpectAsync("/admin/pairs?handler=Remove", AuditActions.PairRemoved, ("PairId", pairId));
        var client2 = await UserWithRoleAsync(Roles.Client);
        await ExpectAsync("/admin/pairs?handler=Import", AuditActions.PairCreated, ("Csv", $"advisor,client\n{advisor},{client2}\nnobody,{client2}\n"));
        // The import's bad line is reported by line, and the good one was made.
        var pairs = await browser.Client.GetStringAsync("/admin/pairs");
        Assert.Contains(client2, pairs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pairs_import_preview_checks_every_line_and_creates_nothing()
    {
        var (_, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var token = await browser.TokenAsync("/admin/pairs");
        var advisor = await UserWithRoleAsync(Roles.Advisor);
        var client = await UserWithRoleAsync(Roles.Client);
        var before = await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<CallVerification.Pair>().CountAsync());
        var preview = await browser.PostFormAsync("/admin/pairs?handler=Preview", token, ("Csv", $"advisor,client\n{advisor},{client}\n{client},{advisor}\nnot a pair line\n"));
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        var html = await preview.Content.ReadAsStringAsync();
        Assert.Contains("1 to create, 2 with errors", html, StringComparison.Ordinal);
        Assert.Contains("does not have the advisor role", html, StringComparison.Ordinal);
        Assert.Contains("expected advisor,client", html, StringComparison.Ordinal);
        Assert.Equal(before, await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<CallVerification.Pair>().CountAsync()));
    }

    [Fact]
    public async Task The_audit_page_filters_verifies_the_chain_and_exports_json_lines()
    {
        var (admin, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var filtered = await browser.Client.GetStringAsync($"/admin/audit?user={admin}&action=login_succeeded");
        Assert.Contains("<td>login_succeeded</td>", filtered, StringComparison.Ordinal);
        Assert.DoesNotContain("<td>role_added</td>", filtered, StringComparison.Ordinal);
        var verified = await browser.Client.GetStringAsync("/admin/audit?handler=Verify");
        Assert.Contains("id=\"verify-result\"", verified, StringComparison.Ordinal);
        Assert.Contains("Intact:", verified, StringComparison.Ordinal);
        var export = await browser.Client.GetAsync($"/admin/audit?handler=Export&user={admin}");
        Assert.Equal("application/x-ndjson", export.Content.Headers.ContentType!.MediaType);
        var lines = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal(admin, System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("username").GetString()));
    }
}

public sealed class SqliteConsoleTests(SqliteAdminServer server) : ConsoleSuite(server), IClassFixture<SqliteAdminServer>;

public sealed class PostgresConsoleTests(PostgresAdminServer server) : ConsoleSuite(server), IClassFixture<PostgresAdminServer>;
