using Countersign.Accounts;
using Countersign.Audit;
using Microsoft.EntityFrameworkCore;
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
        var page = await PageWithAuthenticatorAsync(context);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.ArriveAtAsync("/account");

        await page.Locator("#passkey-name").FillAsync("Test laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a passkey" }).ClickAsync();
        await page.Locator("#passkey-list").WaitForAsync(new() { Timeout = 15_000 });
        Assert.Equal("Test laptop", await page.Locator("#passkey-list input[name=PasskeyName]").InputValueAsync());

        await BrowserFixture.SignOutAsync(page);

        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with a passkey" }).ClickAsync();
        await page.ArriveAtAsync("/account", 15_000);
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
        await page.ArriveAtAsync("/account", 15_000);
    }

    [Fact]
    public async Task A_passkey_registers_this_browser_as_a_device_for_the_protected_apps()
    {
        var name = await fixture.CreateUserAsync("dev");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await PageWithAuthenticatorAsync(context);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.ArriveAtAsync("/account");
        await page.Locator("#passkey-name").FillAsync("Test laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a passkey" }).ClickAsync();
        await page.Locator("#passkey-list").WaitForAsync(new() { Timeout = 15_000 });

        // The device page with the passkey instead of a code; no rd, so it lands on the account page.
        await page.GotoAsync("/devices/add");
        await page.Locator("#device-name").FillAsync("Passkey browser");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use a passkey instead" }).ClickAsync();
        await page.ArriveAtAsync("/account", 15_000);
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "__Secure-cs_device");
        Assert.True(cookie.HttpOnly);
        Assert.True(cookie.Secure);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
        Assert.Contains("Passkey browser", await page.Locator("#device-list").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Empty(errors);
    }

    private static async Task<IPage> PageWithAuthenticatorAsync(IBrowserContext context)
    {
        var page = await context.NewPageAsync();
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
        return page;
    }

    private static async Task SignInAndAddPasskeyAsync(IPage page, string name)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.ArriveAtAsync("/account");
        await page.Locator("#passkey-name").FillAsync("Test laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a passkey" }).ClickAsync();
        await page.Locator("#passkey-list").WaitForAsync(new() { Timeout = 15_000 });
    }

    [Fact]
    public async Task An_administrator_confirms_a_console_change_with_a_passkey_on_reauth()
    {
        var name = await fixture.CreateUserAsync("stepup", Roles.Admin);
        await using var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
            ViewportSize = Accessibility.Phone,
        });
        var page = await PageWithAuthenticatorAsync(context);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await SignInAndAddPasskeyAsync(page, name);

        await page.GotoAsync("/reauth?returnUrl=%2Fadmin%2Fservices");
        await page.GetByRole(AriaRole.Heading, new() { Name = "With a passkey" }).WaitForAsync();
        await page.AssertAccessibleAsync();
        await page.AssertFitsWidthAsync();
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("reauth-passkey.png"), FullPage = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm with a passkey" }).ClickAsync();
        await page.ArriveAtAsync("/admin/services", 15_000);
        Assert.Empty(errors);

        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Countersign.Storage.CountersignDb>();
        var row = await db.AuditEvents.Where(e => e.Username == name && e.Action == AuditActions.Reauthenticated)
            .OrderByDescending(e => e.Id).FirstAsync();
        Assert.Contains("\"factor\":\"passkey\"", row.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_passkey_sign_in_of_an_account_with_a_one_time_password_goes_to_the_change_page()
    {
        var name = await fixture.CreateUserAsync("otpkey");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await PageWithAuthenticatorAsync(context);
        await SignInAndAddPasskeyAsync(page, name);
        await BrowserFixture.SignOutAsync(page);
        // An administrator gives the account a one-time password (its passkey stays).
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Countersign.Storage.CountersignDb>();
            await db.Users.Where(u => u.UserName == name).ExecuteUpdateAsync(s => s.SetProperty(u => u.PasswordChangeRequired, true));
        }

        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in with a passkey" }).ClickAsync();
        await page.ArriveAtAsync("/login/new-password", 15_000);
        await page.AssertAccessibleAsync();
        await page.GetByLabel("The password you were given").FillAsync(Password);
        await page.GetByLabel("New password").FillAsync("amber Lantern 4 quiet harbours");
        await page.GetByLabel("The same again").FillAsync("amber Lantern 4 quiet harbours");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save and continue" }).ClickAsync();
        await page.ArriveAtAsync("/account");
        Assert.Equal(name, await page.Locator("#account-username").InnerTextAsync());
    }
}
