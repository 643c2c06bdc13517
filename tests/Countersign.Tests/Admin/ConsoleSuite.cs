using System.Net;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Storage;
using Countersign.Tests.Api;
using Countersign.ForwardAuth;
using Countersign.Oidc;
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
        foreach (var page in new[] { "/admin", "/admin/users", "/admin/defences", "/admin/pairs", "/admin/audit", "/admin/services", "/admin/clients" })
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
        var service = NewName().ToLowerInvariant();
        var addService = await browser.PostFormAsync("/admin/services?handler=Add", token, ("Name", service), ("Host", "plain.example"));
        Assert.Contains("/login?ReturnUrl=", addService.Headers.Location!.OriginalString, StringComparison.Ordinal);
        var addClient = await browser.PostFormAsync("/admin/clients?handler=Add", token, ("Name", service), ("RedirectUris", "https://plain.example/cb"));
        Assert.Contains("/login?ReturnUrl=", addClient.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain(await WithScope(sp => sp.GetRequiredService<ServiceAdmin>().ListAsync()), s => s.Name == service);
        Assert.Null(await WithScope(sp => sp.GetRequiredService<OidcClients>().ShowAsync(service)));

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
        // The same for the services and applications pages, and for a confirmed destructive change.
        var staleService = "svc-" + NewName();
        Assert.Equal("/reauth?returnUrl=%2Fadmin%2Fservices",
            (await browser.PostFormAsync("/admin/services?handler=Add", token, ("Name", staleService), ("Host", "stale.example"))).Headers.Location!.OriginalString);
        Assert.Equal("/reauth?returnUrl=%2Fadmin%2Fclients",
            (await browser.PostFormAsync("/admin/clients?handler=Add", token, ("Name", staleService), ("RedirectUris", "https://stale.example/cb"))).Headers.Location!.OriginalString);
        Assert.StartsWith("/reauth?returnUrl=%2Fadmin%2Fusers%2F",
            (await browser.PostFormAsync($"/admin/users/{(await FindAsync(first))!.Id}?handler=Disable", token, ("Confirmed", "true"))).Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.False((await FindAsync(first))!.IsDisabled);
        Assert.DoesNotContain(await WithScope(sp => sp.GetRequiredService<ServiceAdmin>().ListAsync()), s => s.Name == staleService);

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
        var Yes = ("Confirmed", "true");

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
        await ExpectAsync($"{user}?handler=RemoveRole", AuditActions.RoleRemoved, ("Role", "client"), Yes);
        var sid = (await WithScope(sp => sp.GetRequiredService<CountersignDb>().SessionFamilies.Where(f => f.UserId == id && f.RevokedAt == null).Select(f => f.Id).FirstAsync())).ToString();
        await ExpectAsync($"{user}?handler=RevokeSession", AuditActions.SessionRevoked, ("SessionId", sid), Yes);
        await ExpectAsync($"{user}?handler=RevokeAll", AuditActions.SessionRevoked, Yes);
        await ExpectAsync($"{user}?handler=ResetFactors", AuditActions.TotpDisabled, Yes);
        await ExpectAsync($"{user}?handler=Disable", AuditActions.UserDisabled, Yes);
        await ExpectAsync($"{user}?handler=Enable", AuditActions.UserEnabled);
        await ExpectAsync("/admin/defences?handler=Unlock", AuditActions.LockoutCleared, ("Username", target));
        await ExpectAsync("/admin/defences?handler=ResetAddress", AuditActions.AddressReset, ("Address", "192.0.2.7"), Yes);
        await ExpectAsync("/admin/defences?handler=Drift", AuditActions.TotpDriftChecked, ("Username", advisor), ("Code", "123456"), ("Window", "2"));
        await ExpectAsync("/admin/pairs?handler=Add", AuditActions.PairCreated, ("Advisor", advisor), ("Client", client));
        var advisorId = (await FindAsync(advisor))!.Id;
        var pairId = (await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<CallVerification.Pair>().Where(p => p.AdvisorId == advisorId)
            .Select(p => p.Id).SingleAsync())).ToString();
        await ExpectAsync("/admin/pairs?handler=Remove", AuditActions.PairRemoved, ("PairId", pairId), Yes);
        var client2 = await UserWithRoleAsync(Roles.Client);
        await ExpectAsync("/admin/pairs?handler=Import", AuditActions.PairCreated, ("Csv", $"advisor,client\n{advisor},{client2}\nnobody,{client2}\n"));
        // The import's bad line is reported by line, and the good one was made.
        var pairs = await browser.Client.GetStringAsync("/admin/pairs");
        Assert.Contains(client2, pairs, StringComparison.Ordinal);

        var service = "svc-" + NewName().ToLowerInvariant();
        await ExpectAsync("/admin/services?handler=Add", AuditActions.ServiceAdded, ("Name", service), ("Host", $"{service}.example"), ("PathPrefix", "/"));
        await ExpectAsync("/admin/services?handler=Rotate", AuditActions.ServiceTokenRotated, ("Name", service), Yes);
        await ExpectAsync("/admin/services?handler=Grant", AuditActions.GrantAdded, ("GrantUser", target), ("GrantService", service));
        await ExpectAsync("/admin/services?handler=Revoke", AuditActions.GrantRemoved, ("GrantUser", target), ("GrantService", service), Yes);
        await ExpectAsync("/admin/services?handler=Remove", AuditActions.ServiceRemoved, ("Name", service), Yes);
        var app = "app-" + NewName().ToLowerInvariant();
        await ExpectAsync("/admin/clients?handler=Add", AuditActions.OidcClientAdded, ("Name", app), ("RedirectUris", "https://app.example/cb"), ("Confidential", "true"));
        await ExpectAsync("/admin/clients?handler=Rotate", AuditActions.OidcClientSecretRotated, ("Name", app), Yes);
        await ExpectAsync("/admin/clients?handler=Remove", AuditActions.OidcClientRemoved, ("Name", app), Yes);
    }

    [Fact]
    public async Task A_destructive_console_action_first_shows_what_it_will_do_and_changes_nothing()
    {
        var (_, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var target = await RegisterAsync();
        var id = (await FindAsync(target))!.Id;
        var token = await browser.TokenAsync("/admin");

        var ask = await browser.PostFormAsync($"/admin/users/{id}?handler=Disable", token);
        Assert.Equal(HttpStatusCode.OK, ask.StatusCode);
        var html = await ask.Content.ReadAsStringAsync();
        Assert.Contains($"Disable {target}?", html, StringComparison.Ordinal);
        Assert.Contains("every session it has is ended", html, StringComparison.Ordinal);
        // The confirm form posts the same handler again, with its own anti-forgery token, and works without a script.
        Assert.Contains($"action=\"/admin/users/{id}?handler=Disable\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"Confirmed\" value=\"true\"", html, StringComparison.Ordinal);
        // Its own anti-forgery token, inside the confirm form (the page's other forms do not count).
        var form = html[html.IndexOf("id=\"confirm-form\"", StringComparison.Ordinal)..];
        Assert.NotNull(BrowserSession.Token(form[..form.IndexOf("</form>", StringComparison.Ordinal)]));
        Assert.False((await FindAsync(target))!.IsDisabled);

        var done = await browser.PostFormAsync($"/admin/users/{id}?handler=Disable", BrowserSession.Token(html)!, ("Confirmed", "true"));
        Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
        Assert.True((await FindAsync(target))!.IsDisabled);

        // Removing a service names it and its grants, and keeps it until confirmed.
        var service = "svc-" + NewName().ToLowerInvariant();
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostFormAsync("/admin/services?handler=Add", token, ("Name", service), ("Host", $"{service}.example"))).StatusCode);
        var askRemove = await (await browser.PostFormAsync("/admin/services?handler=Remove", token, ("Name", service))).Content.ReadAsStringAsync();
        Assert.Contains($"Remove the service {service}?", askRemove, StringComparison.Ordinal);
        Assert.Contains(await WithScope(sp => sp.GetRequiredService<ServiceAdmin>().ListAsync()), s => s.Name == service);
    }

    [Fact]
    public async Task A_new_service_token_and_client_secret_are_shown_once_after_the_redirect()
    {
        var (_, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var token = await browser.TokenAsync("/admin/services");
        var service = "svc-" + NewName().ToLowerInvariant();
        var added = await browser.PostFormAsync("/admin/services?handler=Add", token, ("Name", service), ("Host", $"{service}.example"),
            ("PathPrefix", "/app"), ("SendsIdentity", "true"));
        Assert.Equal(HttpStatusCode.Redirect, added.StatusCode);
        var page = await browser.Client.GetStringAsync(added.Headers.Location);
        var shown = System.Text.RegularExpressions.Regex.Match(page, "id=\"service-token-value\">([A-Za-z0-9_-]{43})<");
        Assert.True(shown.Success, "the token is on the page the redirect leads to");
        // A reload shows the list, not the token again.
        var again = await browser.Client.GetStringAsync(added.Headers.Location);
        Assert.DoesNotContain(shown.Groups[1].Value, again, StringComparison.Ordinal);
        Assert.Contains($"{service}.example", again, StringComparison.Ordinal);
        // The token shown is the service's: /verify accepts it (a wrong one is a 404 with nothing in it).
        var listed = await WithScope(sp => sp.GetRequiredService<ServiceAdmin>().ListAsync());
        Assert.Contains(listed, s => s.Name == service && s.PathPrefix == "/app" && s.SendsIdentity);

        var rotated = await browser.PostFormAsync("/admin/services?handler=Rotate", token, ("Name", service), ("Confirmed", "true"));
        var second = System.Text.RegularExpressions.Regex.Match(await browser.Client.GetStringAsync(rotated.Headers.Location), "id=\"service-token-value\">([A-Za-z0-9_-]{43})<");
        Assert.True(second.Success);
        Assert.NotEqual(shown.Groups[1].Value, second.Groups[1].Value);

        var app = "app-" + NewName().ToLowerInvariant();
        var client = await browser.PostFormAsync("/admin/clients?handler=Add", token, ("Name", app), ("RedirectUris", "https://app.example/cb\nhttps://app.example/cb2"),
            ("Confidential", "true"));
        var clientPage = await browser.Client.GetStringAsync(client.Headers.Location);
        Assert.Matches("id=\"client-secret-value\">[A-Za-z0-9_-]{43}<", clientPage);
        Assert.DoesNotMatch("id=\"client-secret-value\"", await browser.Client.GetStringAsync(client.Headers.Location));
        var summary = (await WithScope(sp => sp.GetRequiredService<OidcClients>().ShowAsync(app)))!;
        Assert.True(summary.Confidential);
        Assert.Equal(["https://app.example/cb", "https://app.example/cb2"], summary.RedirectUris.Order());

        // A public client has no secret to show, and a bad redirect URI is refused in words, creating nothing.
        var pub = "pub-" + NewName().ToLowerInvariant();
        var publicClient = await browser.PostFormAsync("/admin/clients?handler=Add", token, ("Name", pub), ("RedirectUris", "https://pub.example/cb"));
        Assert.DoesNotMatch("id=\"client-secret-value\"", await browser.Client.GetStringAsync(publicClient.Headers.Location));
        Assert.False((await WithScope(sp => sp.GetRequiredService<OidcClients>().ShowAsync(pub)))!.Confidential);
        var bad = "bad-" + NewName().ToLowerInvariant();
        var refused = await browser.PostFormAsync("/admin/clients?handler=Add", token, ("Name", bad), ("RedirectUris", "http://evil.example/*"));
        Assert.Contains("Redirect URIs must be absolute", await browser.Client.GetStringAsync(refused.Headers.Location), StringComparison.Ordinal);
        Assert.Null(await WithScope(sp => sp.GetRequiredService<OidcClients>().ShowAsync(bad)));
    }

    [Fact]
    public async Task Grants_are_listed_by_user_and_by_service_and_the_user_page_links_to_them()
    {
        var (_, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var token = await browser.TokenAsync("/admin/services");
        var (one, two) = ("svc-" + NewName().ToLowerInvariant(), "svc-" + NewName().ToLowerInvariant());
        foreach (var s in new[] { one, two })
        {
            await browser.PostFormAsync("/admin/services?handler=Add", token, ("Name", s), ("Host", $"{s}.example"));
        }
        var (alice, bob) = (await RegisterAsync(), await RegisterAsync());
        foreach (var (u, s) in new[] { (alice, one), (alice, two), (bob, one) })
        {
            var granted = await browser.PostFormAsync("/admin/services?handler=Grant", token, ("GrantUser", u), ("GrantService", s));
            Assert.Equal(HttpStatusCode.Redirect, granted.StatusCode);
        }
        var twice = await browser.PostFormAsync("/admin/services?handler=Grant", token, ("GrantUser", bob), ("GrantService", one));
        Assert.Contains("may use that service already", await browser.Client.GetStringAsync(twice.Headers.Location), StringComparison.Ordinal);

        static int Rows(string html) => System.Text.RegularExpressions.Regex.Count(html, "handler=Revoke");
        var byUser = await browser.Client.GetStringAsync($"/admin/services?GrantUser={alice}");
        Assert.Equal(2, Rows(byUser));
        var byService = await browser.Client.GetStringAsync($"/admin/services?GrantService={one}");
        Assert.Equal(2, Rows(byService));
        Assert.Contains(bob, byService, StringComparison.Ordinal);

        var id = (await FindAsync(alice))!.Id;
        var userPage = await browser.Client.GetStringAsync($"/admin/users/{id}");
        Assert.Contains($"/admin/services?GrantUser={alice}#grant-list", userPage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pairs_page_searches_and_pages_in_the_database()
    {
        var (_, browser) = await AdminBrowserAsync();
        using var _ = browser;
        var token = await browser.TokenAsync("/admin/pairs");
        var advisor = await UserWithRoleAsync(Roles.Advisor);
        var clients = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await UserWithRoleAsync(Roles.Client));
            await browser.PostFormAsync("/admin/pairs?handler=Add", token, ("Advisor", advisor), ("Client", clients[^1]));
        }
        // Case does not matter (the normalised names are searched); a term no name holds finds nothing, without an error.
        var found = await browser.Client.GetStringAsync($"/admin/pairs?search={Uri.EscapeDataString(advisor.ToUpperInvariant())}");
        Assert.All(clients, c => Assert.Contains(c, found, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync("/admin/pairs?search=%00%01&p=-5")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync("/admin/pairs?search=%ED%A0%80&p=999999999")).StatusCode);
        Assert.DoesNotContain(advisor, await browser.Client.GetStringAsync("/admin/pairs?search=zz-no-such-name-zz"), StringComparison.Ordinal);
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
