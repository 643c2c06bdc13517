using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// Every page, in English and in French, at a phone's width: axe finds nothing serious and nothing scrolls
/// sideways (issue 16). Pages that need a signed-in user are visited as one; pairs give the calls page content.
/// </summary>
public sealed class AccessibilityScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private static readonly string[] Anonymous = ["/login", "/devices/add", "/"];
    // The account page has its own scenario (the account console's), which runs the same checks.
    private static readonly string[] SignedIn = ["/calls", "/"];

    [Theory]
    [InlineData("en-GB")]
    [InlineData("fr-FR")]
    public async Task Every_page_passes_axe_and_fits_a_phone(string locale)
    {
        await using var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
            ViewportSize = Accessibility.Phone,
            Locale = locale,
        });
        var page = await context.NewPageAsync();
        foreach (var path in Anonymous)
        {
            await page.GotoAsync(path);
            await page.AssertAccessibleAsync();
            await page.AssertFitsWidthAsync();
        }
        var advisor = await fixture.CreateUserAsync("a11y-advisor", Countersign.Accounts.Roles.Advisor);
        var client = await fixture.CreateUserAsync("a11y-client", Countersign.Accounts.Roles.Client);
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
                await page.GotoAsync(path);
                await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                await page.AssertAccessibleAsync();
                await page.AssertFitsWidthAsync();
            }
            await BrowserFixture.SignOutAsync(page);
            await page.AssertAccessibleAsync();
        }
    }
}
