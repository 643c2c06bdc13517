using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Totp;
using Microsoft.Playwright;
using OtpNet;

namespace Countersign.Browser.Tests;

public sealed class TotpScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = BrowserFixture.Password;

    [Fact]
    public async Task A_user_enrols_an_authenticator_from_the_page_and_signs_in_with_password_and_code()
    {
        var name = await fixture.CreateUserAsync("otp");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        await SignInWithPasswordAsync(page, name);
        await page.ArriveAtAsync("/account");

        await page.GetByRole(AriaRole.Button, new() { Name = "Set up an authenticator app" }).ClickAsync();
        Assert.True(await page.Locator("#totp-qr").IsVisibleAsync());
        var secret = Base32Encoding.ToBytes(await page.Locator("#totp-secret").InnerTextAsync());
        var step = await SettledStepAsync() - 1;
        await page.GetByLabel("Code from the app").FillAsync(Rfc6238.Code(secret, step));
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        Assert.Equal(10, await page.Locator("#recovery-codes li").CountAsync());
        Assert.Contains("On.", await page.Locator("#totp-status").InnerTextAsync(), StringComparison.Ordinal);

        await BrowserFixture.SignOutAsync(page);

        await SignInWithPasswordAsync(page, name);
        // The second step asks for the code only; the password is not sent again.
        await page.Locator("#second-factor").WaitForAsync();
        Assert.Equal(0, await page.Locator("input[name=Password]").CountAsync());
        await page.GetByLabel("Code").FillAsync(Rfc6238.Code(secret, step + 1));
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await page.ArriveAtAsync("/account");
        Assert.Equal(name, await page.Locator("#account-username").InnerTextAsync());
    }

    private static async Task SignInWithPasswordAsync(IPage page, string name)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
    }

    private static async Task<long> SettledStepAsync()
    {
        if (Rfc6238.Period - DateTimeOffset.UtcNow.ToUnixTimeSeconds() % Rfc6238.Period < 5)
        {
            await Task.Delay(TimeSpan.FromSeconds(6));
        }
        return Rfc6238.StepAt(DateTimeOffset.UtcNow);
    }
}
