using Countersign.Accounts;
using Countersign.Audit;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// Passkeys through Chromium's virtual authenticator (CDP WebAuthn domain), on http://localhost so the
/// page is a secure context and the relying party id is "localhost".
/// </summary>
public sealed class PasskeyScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = BrowserFixture.Password;

    [Fact]
    public async Task A_user_registers_a_passkey_signs_out_and_signs_in_with_the_passkey_alone()
    {
        var name = await fixture.CreateUserAsync("key");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        var cdp = await context.NewCDPSessionAsync(page);
        await cdp.SendAsync("WebAuthn.enable");
        await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new()
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2",
                ["transport"] = "internal",
                ["hasResidentKey"] = true,
                ["hasUserVerification"] = true,
                ["isUserVerified"] = true,
                ["automaticPresenceSimulation"] = true,
            },
        });

        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.WaitForURLAsync("**/account");

        await page.Locator("#passkey-name").FillAsync("Test laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a passkey" }).ClickAsync();
        await page.Locator("#passkey-list").WaitForAsync(new() { Timeout = 15_000 });
        Assert.Equal("Test laptop", await page.Locator("#passkey-list input[name=PasskeyName]").InputValueAsync());

        await BrowserFixture.SignOutAsync(page);

        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with a passkey" }).ClickAsync();
        await page.WaitForURLAsync("**/account", new() { Timeout = 15_000 });
        Assert.Equal(name, await page.Locator("#account-username").InnerTextAsync());
        Assert.NotEqual("never", await page.Locator("#passkey-list tbody td").Nth(2).InnerTextAsync());
        Assert.Empty(errors);

        // With a passkey registered, the password alone is no longer enough: the second step offers the passkey.
        await BrowserFixture.SignOutAsync(page);
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Use a passkey instead" }).ClickAsync();
        await page.WaitForURLAsync("**/account", new() { Timeout = 15_000 });
    }

    [Fact]
    public async Task A_passkey_registers_this_browser_as_a_device_for_the_protected_apps()
    {
        var name = await fixture.CreateUserAsync("dev");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        var cdp = await context.NewCDPSessionAsync(page);
        await cdp.SendAsync("WebAuthn.enable");
        await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new()
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2",
                ["transport"] = "internal",
                ["hasResidentKey"] = true,
                ["hasUserVerification"] = true,
                ["isUserVerified"] = true,
                ["automaticPresenceSimulation"] = true,
            },
        });
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.WaitForURLAsync("**/account");
        await page.Locator("#passkey-name").FillAsync("Test laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a passkey" }).ClickAsync();
        await page.Locator("#passkey-list").WaitForAsync(new() { Timeout = 15_000 });

        // The device page with the passkey instead of a code; no rd, so it lands on the account page.
        await page.GotoAsync("/devices/add");
        await page.Locator("#device-name").FillAsync("Passkey browser");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use a passkey instead" }).ClickAsync();
        await page.WaitForURLAsync("**/account", new() { Timeout = 15_000 });
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "__Secure-cs_device");
        Assert.True(cookie.HttpOnly);
        Assert.True(cookie.Secure);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
        Assert.Contains("Passkey browser", await page.Locator("#device-list").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Empty(errors);
    }
}
