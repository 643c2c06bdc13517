using System.Net;
using System.Text.RegularExpressions;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Countersign.Tests.Oidc;
using Countersign.Totp;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Routing;
using OtpNet;

namespace Countersign.Tests.Pages;

/// <summary>
/// Every page, in French and in English (issue 16, "Language"): users who can reach each page — a plain user, one with an
/// authenticator app, an advisor, a client, an administrator — request every page and its states (the sign-in errors,
/// the second step, the account console's sections and confirmations, consent, the OpenID Connect sign-out, the admin
/// console) with the browser's language and the account's setting both set to one language; each page must carry
/// <c>lang</c> of that language and show no word of the other (every entry of every resource file, <see cref="PageWords"/>).
/// A page the server serves that the walk never reached fails the walk too, so a new page cannot be left out.
/// </summary>
public abstract partial class EveryPageSuite(TestServer server) : ApiSuiteBase(server)
{
    private sealed class Walk(EveryPageSuite suite, string language)
    {
        public string Language => language;

        public List<(string Path, string Html)> Pages { get; } = [];

        public HashSet<string> Reached { get; } = [];

        public BrowserSession Browser()
        {
            var browser = new BrowserSession(suite.Server.BaseAddress);
            browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(language == "fr" ? "fr-FR,fr;q=0.9" : "en-GB,en;q=0.9");
            return browser;
        }

        /// <summary>A page answered with the status expected; its HTML is kept for the language check.</summary>
        public async Task<string> PageAsync(HttpResponseMessage response, string path, HttpStatusCode expected = HttpStatusCode.OK)
        {
            var html = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode}, expected {(int)expected} {response.Headers.Location}");
            Pages.Add((path, html));
            Reached.Add(new Uri(suite.Server.BaseAddress, path).AbsolutePath);
            return html;
        }

        public async Task<string> GetAsync(BrowserSession browser, string path, HttpStatusCode expected = HttpStatusCode.OK) =>
            await PageAsync(await browser.Client.GetAsync(path), path, expected);

        /// <summary>A form post that answers with a redirect (post/redirect/get); the page it leads to is kept.</summary>
        public async Task<string> PostThenGetAsync(BrowserSession browser, string page, string action, params (string, string)[] fields)
        {
            var posted = await browser.PostFormAsync(action, await browser.TokenAsync(page), fields);
            Assert.True(posted.StatusCode == HttpStatusCode.Redirect, $"{action}: {(int)posted.StatusCode}");
            return await GetAsync(browser, posted.Headers.Location!.OriginalString);
        }

        /// <summary>An account in this walk's language, set over the API as its owner would.</summary>
        public async Task<string> SpeakingAsync(string name)
        {
            var token = await suite.TokenAsync(name);
            var set = await suite.Client.SendAsync(WithToken(HttpMethod.Put, "/api/me/language", token, new { language }));
            Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
            return name;
        }

        public async Task<BrowserSession> SignedInAsync(string name)
        {
            var browser = Browser();
            await browser.SignInAsync(name, Password);
            return browser;
        }
    }

    [Theory]
    [InlineData("fr")]
    [InlineData("en")]
    public async Task Every_page_speaks_one_language_only(string language)
    {
        var walk = new Walk(this, language);
        await AnonymousPagesAsync(walk);
        await SignInStatesAsync(walk);
        await AccountConsoleAsync(walk);
        await CallsAsync(walk);
        await AdminConsoleAsync(walk);

        // Every page's finding at once, so one run lists every leftover.
        var failures = walk.Pages.Select(p => Record.Exception(() => PageWords.AssertSpeaks(language, p.Path, p.Html))?.Message)
            .OfType<string>().Distinct().ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        AssertEveryPageReached(walk);
    }

    private static async Task AnonymousPagesAsync(Walk walk)
    {
        using var anonymous = walk.Browser();
        await walk.GetAsync(anonymous, "/login");
        var token = await anonymous.TokenAsync("/login");
        await walk.PageAsync(await anonymous.PostFormAsync("/login", token, ("Username", NewName()), ("Password", "not the password 1")),
            "/login", HttpStatusCode.Unauthorized);
        await walk.GetAsync(anonymous, "/login/forgot");
        await walk.PageAsync(await anonymous.PostFormAsync("/login/forgot", await anonymous.TokenAsync("/login/forgot"),
            ("Username", NewName()), ("RecoveryCode", "abcd-efgh"), ("Code", "123456"), ("NewPassword", Password), ("ConfirmPassword", "something else")),
            "/login/forgot", HttpStatusCode.BadRequest);
        await walk.PageAsync(await anonymous.PostFormAsync("/login/forgot", await anonymous.TokenAsync("/login/forgot"),
            ("Username", NewName()), ("RecoveryCode", "abcd-efgh"), ("Code", "123456"), ("NewPassword", "short"), ("ConfirmPassword", "short")),
            "/login/forgot", HttpStatusCode.BadRequest);
        await walk.GetAsync(anonymous, "/signup");
        // Every policy refusal at once: too short, and a common password.
        await walk.PageAsync(await anonymous.PostFormAsync("/signup", await anonymous.TokenAsync("/signup"),
            ("Username", NewName()), ("NewPassword", "passwor"), ("ConfirmPassword", "passwor")), "/signup", HttpStatusCode.BadRequest);
        await walk.PageAsync(await anonymous.PostFormAsync("/signup", await anonymous.TokenAsync("/signup"),
            ("Username", "bad name"), ("NewPassword", Password), ("ConfirmPassword", Password)), "/signup", HttpStatusCode.BadRequest);
        await walk.GetAsync(anonymous, "/devices/add");
        await walk.PageAsync(await anonymous.PostFormAsync("/devices/add", await anonymous.TokenAsync("/devices/add"),
            ("Username", NewName()), ("Code", "123456")), "/devices/add", HttpStatusCode.Unauthorized);
        await walk.GetAsync(anonymous, "/connect/logout/confirm?state=x");
        await walk.GetAsync(anonymous, "/logout");
        // The front door only sends the browser on.
        Assert.Equal(HttpStatusCode.Redirect, (await anonymous.Client.GetAsync("/")).StatusCode);
        walk.Reached.Add("/");
    }

    private async Task SignInStatesAsync(Walk walk)
    {
        // 423: five failures lock the username (Defences:Lockout), and the page says for how long.
        var locked = await walk.SpeakingAsync(await RegisterAsync());
        using (var browser = walk.Browser())
        {
            HttpResponseMessage last = null!;
            for (var i = 0; i < 6 && last?.StatusCode != (HttpStatusCode)423; i++)
            {
                last = await browser.PostFormAsync("/login", await browser.TokenAsync("/login"), ("Username", locked), ("Password", "wrong guess " + i));
            }
            await walk.PageAsync(last, "/login", (HttpStatusCode)423);
        }

        // A password someone else chose: the page that replaces it, and its refusal.
        var oneTime = NewName();
        await WithScope(async sp =>
        {
            var (_, result) = await sp.GetRequiredService<AccountAdmin>().CreateAsync(oneTime, Password, null, [], AuditActions.UserCreated, "test", null,
                walk.Language, (u, _) =>
                {
                    u.PasswordChangeRequired = true;
                    return Task.CompletedTask;
                }, CancellationToken.None);
            Assert.True(result.Succeeded);
            return 0;
        });
        using (var browser = walk.Browser())
        {
            var login = await browser.PostFormAsync("/login", await browser.TokenAsync("/login"), ("Username", oneTime), ("Password", Password));
            Assert.Equal("/login/new-password", login.Headers.Location?.OriginalString);
            var page = await walk.GetAsync(browser, "/login/new-password");
            await walk.PageAsync(await browser.PostFormAsync("/login/new-password", BrowserSession.Token(page)!,
                ("StepToken", WebUtility.HtmlDecode(StepField().Match(page).Groups[1].Value)), ("NewPassword", "short"), ("ConfirmPassword", "short")),
                "/login/new-password", HttpStatusCode.BadRequest);
        }
    }

    private async Task AccountConsoleAsync(Walk walk)
    {
        var name = await walk.SpeakingAsync(await RegisterAsync());
        // A stranger's failed attempt, for "recent activity".
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login(name, "a stranger's guess 1")).StatusCode);
        using var mine = await walk.SignedInAsync(name);
        using var other = await walk.SignedInAsync(name);
        await walk.GetAsync(mine, "/account");
        await walk.GetAsync(mine, "/login");
        await walk.GetAsync(mine, "/account?confirm=sign-out-others");

        // An application asks for consent (before the authenticator app, whose codes the steps below spend); once allowed it is
        // listed on the account page.
        using var oidc = new OidcDriver(Server);
        var client = await oidc.ClientAsync(firstParty: false);
        oidc.Browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(walk.Language == "fr" ? "fr-FR" : "en-GB");
        var consent = await oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), "openid profile email"), name);
        Assert.StartsWith("/consent", consent.PagePath, StringComparison.Ordinal);
        await walk.PageAsync(await oidc.Browser.Client.GetAsync(consent.PagePath), consent.PagePath!);
        Assert.NotNull((await oidc.ConsentAsync(consent, accept: true)).Callback);
        var logout = await oidc.Browser.Client.GetAsync("/connect/logout?client_id=" + client);
        Assert.StartsWith("/connect/logout/confirm", logout.Headers.Location?.OriginalString, StringComparison.Ordinal);
        await walk.GetAsync(oidc.Browser, logout.Headers.Location!.OriginalString);

        // The authenticator app: the QR code, its confirmation with the codes shown once, then "on".
        var enrolment = await walk.PostThenGetAsync(mine, "/account", "/account?handler=StartTotp");
        var secret = Base32Encoding.ToBytes(WebUtility.HtmlDecode(SecretField().Match(enrolment).Groups[1].Value));
        var step = await ForwardAuth.ForwardAuthSteps.SettledStepAsync();
        await walk.PostThenGetAsync(mine, "/account", "/account?handler=ConfirmTotp", ("Code", Rfc6238.Code(secret, step)));
        await walk.PostThenGetAsync(mine, "/account", "/account?handler=SavedCodes");
        await walk.GetAsync(mine, "/account?confirm=new-codes");
        await walk.GetAsync(mine, "/account?confirm=remove-totp");
        // A refusal shown on the page: a wrong current password for the change.
        await walk.PostThenGetAsync(mine, "/account", "/account?handler=ChangePassword",
            ("CurrentPassword", "not my password 2"), ("NewPassword", Password + " x"), ("ConfirmPassword", Password + " x"));

        // The second step on /login, and its refusal.
        using (var browser = walk.Browser())
        {
            var second = await walk.PageAsync(await browser.PostFormAsync("/login", await browser.TokenAsync("/login"), ("Username", name), ("Password", Password)), "/login");
            Assert.Contains("id=\"second-factor\"", second, StringComparison.Ordinal);
            await walk.PageAsync(await browser.PostFormAsync("/login?handler=Code", BrowserSession.Token(second)!,
                ("StepToken", WebUtility.HtmlDecode(StepField().Match(second).Groups[1].Value)), ("Code", "zzzz-zzzz-zz")), "/login", HttpStatusCode.BadRequest);
        }

        // A registered device (the next step's code: the one before was spent), then the account lists it.
        using (var device = walk.Browser())
        {
            var added = await device.PostFormAsync("/devices/add", await device.TokenAsync("/devices/add"),
                ("Username", name), ("Code", Rfc6238.Code(secret, step + 1)), ("DeviceName", "kitchen laptop"));
            Assert.Equal(HttpStatusCode.Redirect, added.StatusCode);
        }

        var account = await walk.GetAsync(mine, "/account");
        Assert.Contains("kitchen laptop", account, StringComparison.Ordinal);
        Assert.Contains("id=\"application-list\"", account, StringComparison.Ordinal);
        Assert.Contains("class=\"failed\"", account, StringComparison.Ordinal);

        await walk.GetAsync(mine, "/logout");
        await walk.PageAsync(await mine.PostFormAsync("/logout", await mine.TokenAsync("/logout")), "/logout");
    }

    private async Task CallsAsync(Walk walk)
    {
        var pair = await PairAsync();
        foreach (var name in new[] { pair.Advisor, pair.Client })
        {
            using var browser = await walk.SignedInAsync(await walk.SpeakingAsync(name));
            await walk.GetAsync(browser, "/calls");
        }
    }

    private async Task AdminConsoleAsync(Walk walk)
    {
        var admin = await walk.SpeakingAsync(await UserWithRoleAsync(Roles.Admin));
        using var browser = await walk.SignedInAsync(admin);
        var dashboard = await walk.GetAsync(browser, "/admin");
        // Every page the console's own navigation offers, so a page added to it is walked too.
        foreach (var link in AdminLink().Matches(dashboard).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).Distinct())
        {
            await walk.GetAsync(browser, link);
        }
        var someone = await WithScope(sp => sp.GetRequiredService<AccountAdmin>().FindAsync(admin));
        await walk.GetAsync(browser, $"/admin/users/{someone!.Id}");
        await walk.GetAsync(browser, "/reauth?returnUrl=%2Fadmin");
        await walk.PageAsync(await browser.PostFormAsync("/reauth?handler=Password", await browser.TokenAsync("/reauth?returnUrl=%2Fadmin"),
            ("Password", "not it 3"), ("ReturnUrl", "/admin")), "/reauth", HttpStatusCode.Unauthorized);
    }

    /// <summary>Every Razor page the server maps was requested by the walk (a route with a parameter, by any value).</summary>
    private void AssertEveryPageReached(Walk walk)
    {
        var routes = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<PageActionDescriptor>() is not null)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            // "Admin/Index" is another name of "Admin"; the walk requests the short one.
            .Where(route => !route.EndsWith("Index", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.NotEmpty(routes);
        var missed = routes.Where(route =>
        {
            var pattern = new Regex("^" + Regex.Replace(Regex.Escape(route), @"\\\{[^}]*}", "[^/]+") + "$", RegexOptions.IgnoreCase);
            return !walk.Reached.Any(pattern.IsMatch);
        }).ToList();
        Assert.True(missed.Count == 0, "pages the walk never requested: " + string.Join(", ", missed));
    }

    [GeneratedRegex("name=\"StepToken\" value=\"([^\"]+)\"")]
    private static partial Regex StepField();

    [GeneratedRegex("<code id=\"totp-secret\">([^<]+)</code>")]
    private static partial Regex SecretField();

    [GeneratedRegex("href=\"(/admin/[^\"#?]*)\"")]
    private static partial Regex AdminLink();
}

public sealed class SqliteEveryPageTests(SqliteServer server) : EveryPageSuite(server), IClassFixture<SqliteServer>;

public sealed class PostgresEveryPageTests(PostgresServer server) : EveryPageSuite(server), IClassFixture<PostgresServer>;
