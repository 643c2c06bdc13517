using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// Every page, in English and in French, at a phone's width: the page is in the browser's language (<c>lang</c>), axe finds
/// nothing serious and nothing scrolls sideways (issue 16). Pages that need a signed-in user are visited as one whose own
/// setting is that language too; pairs give the calls page content; an administrator walks the console. The French run
/// leaves screenshots in artifacts/. The account console's actions have their own scenario; its pages are checked here.
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
            await page.GotoAsync(path);
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
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
        await BrowserFixture.SignOutAsync(page);
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
