using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// Every page, in English and in French, at a phone's width: the page is in the browser's language (<c>lang</c>), axe finds
/// nothing serious and nothing scrolls sideways (issue 16). Pages that need a signed-in user are visited as one whose own
/// setting is that language too; pairs give the calls page content; an administrator walks the console. The French run
/// leaves screenshots in artifacts/. The account console's actions have their own scenario; its pages are checked here.
/// Pages reached only in a flow are checked where the flow leaves the browser: the password a one-time password must be
/// replaced with (and its refusal), an application's consent, an administrator's page of one account.
/// </summary>
public sealed class AccessibilityScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private static readonly string[] Anonymous = ["/login", "/login/forgot", "/signup", "/devices/add", "/connect/logout/confirm?state=x", "/"];
    private static readonly string[] SignedIn = ["/calls", "/account", "/logout", "/"];
    private static readonly string[] Admin = ["/admin", "/admin/users", "/admin/defences", "/admin/pairs", "/admin/audit", "/reauth?returnUrl=%2Fadmin"];

    [Theory]
    [InlineData("en-GB")]
    [InlineData("fr-FR")]
    public async Task Every_page_passes_axe_and_fits_a_phone_in_the_browsers_language(string locale)
    {
        var language = locale[..2];
        await using var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
            ViewportSize = Accessibility.Phone,
            Locale = locale,
        });
        var page = await context.NewPageAsync();
        async Task CheckAsync(string path, string? screenshot = null)
        {
            // The driver waits for network idle itself here; IPage.WaitForLoadStateAsync can miss it (Navigation.cs).
            await page.GotoAsync(path, new() { WaitUntil = WaitUntilState.NetworkIdle });
            await CheckHereAsync(screenshot);
        }
        async Task CheckHereAsync(string? screenshot = null)
        {
            await page.LoadedAsync();
            Assert.Equal(language, await page.Locator("html").GetAttributeAsync("lang"));
            await page.AssertAccessibleAsync();
            await page.AssertFitsWidthAsync();
            if (screenshot is not null && language == "fr")
            {
                await page.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath(screenshot), FullPage = true });
            }
        }

        foreach (var path in Anonymous)
        {
            await CheckAsync(path, path == "/login" ? "login-fr-phone.png" : null);
        }

        // A one-time password leads to the page that replaces it; then its refusal of a password the policy turns down.
        var (oneTime, given) = await OneTimeAsync(language);
        await page.GotoAsync("/login");
        await page.Locator("#username").FillAsync(oneTime);
        await page.Locator("#password").FillAsync(given);
        await page.Locator("form.card button[type=submit]").ClickAsync();
        await page.ArriveAtAsync("/login/new-password");
        await CheckHereAsync("new-password-fr-phone.png");
        await page.Locator("#new-password").FillAsync("short");
        await page.Locator("#confirm-password").FillAsync("short");
        await page.Locator("#new-password-form button[type=submit]").ClickAsync();
        await page.Locator("#password-errors").WaitForAsync();
        await CheckHereAsync();
        var advisor = await SpeakingAsync(await fixture.CreateUserAsync("a11y-advisor", Countersign.Accounts.Roles.Advisor), language);
        var client = await SpeakingAsync(await fixture.CreateUserAsync("a11y-client", Countersign.Accounts.Roles.Client), language);
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var (_, error) = await scope.ServiceProvider.GetRequiredService<Countersign.CallVerification.PairService>().CreateAsync(advisor, client, "test");
            Assert.Equal(Countersign.CallVerification.PairError.None, error);
        }
        foreach (var user in new[] { advisor, client })
        {
            await BrowserFixture.SignInAsync(page, user);
            foreach (var path in SignedIn)
            {
                await CheckAsync(path, path == "/calls" ? $"calls-fr-{(user == advisor ? "advisor" : "client")}-phone.png"
                    : path == "/account" && user == advisor ? "account-fr-phone.png" : null);
            }
            if (user == advisor)
            {
                // A third-party application asks this signed-in user for consent (OIDC Core 1.0 §3.1.2.4).
                await page.GotoAsync(Countersign.Tests.Oidc.OidcDriver.AuthorizeUrl(await ThirdPartyClientAsync(), Countersign.Tests.Oidc.OidcDriver.Pkce.New(), "openid profile email"));
                await page.ArriveAsync(new Regex("/consent"));
                await CheckHereAsync("consent-fr-phone.png");
            }
            await BrowserFixture.SignOutAsync(page);
            Assert.Equal(language, await page.Locator("html").GetAttributeAsync("lang"));
            await page.AssertAccessibleAsync();
        }

        var admin = await SpeakingAsync(await fixture.CreateUserAsync("a11y-admin", Countersign.Accounts.Roles.Admin), language);
        await BrowserFixture.SignInAsync(page, admin);
        foreach (var path in Admin)
        {
            await CheckAsync(path, path == "/admin" ? "admin-fr-phone.png" : null);
        }
        // One account's page: the advisor's, who has a pair, sessions and an audit trail to show.
        await CheckAsync($"/admin/users/{await IdOfAsync(advisor)}", "admin-user-fr-phone.png");
        await BrowserFixture.SignOutAsync(page);
    }

    /// <summary>An account an administrator made with a one-time password, in the walk's language; and that password.</summary>
    private async Task<(string Name, string Password)> OneTimeAsync(string language)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var (user, password, result) = await scope.ServiceProvider.GetRequiredService<Countersign.Accounts.AccountAdmin>()
            .CreateWithOneTimePasswordAsync("a11y-onetime" + Guid.NewGuid().ToString("N")[..8], null, [], "test", null, language);
        Assert.True(result.Succeeded);
        return (user!.UserName!, password!);
    }

    /// <summary>A confidential application that is not first-party, so its users are asked for consent.</summary>
    private async Task<string> ThirdPartyClientAsync()
    {
        var name = "a11y-app-" + Guid.NewGuid().ToString("N")[..6];
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var (client, _, error) = await scope.ServiceProvider.GetRequiredService<Countersign.Oidc.OidcClients>().AddAsync(new Countersign.Oidc.ClientRequest(name,
            [Countersign.Tests.Oidc.OidcDriver.RedirectUri], [], Confidential: true, FirstParty: false), "test");
        Assert.True(client is not null, error.ToString());
        return name;
    }

    private async Task<Guid> IdOfAsync(string name)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<Countersign.Accounts.AccountAdmin>().FindAsync(name))!.Id;
    }

    /// <summary>The account's own language, as its owner would set it on the account page.</summary>
    private async Task<string> SpeakingAsync(string name, string language)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<Countersign.Accounts.AccountAdmin>();
        Assert.True(await accounts.SetLanguageAsync((await accounts.FindAsync(name))!, language));
        return name;
    }
}
