using System.Net;
using System.Net.Http.Json;
using Countersign.Accounts;
using Countersign.Audit;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>The user's account console in Chromium at a phone's width (issue 16, "Done when").</summary>
public sealed class AccountScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string NewPassword = "amber Lantern 4 quiet harbours";

    private Task<IBrowserContext> PhoneAsync() => fixture.Browser.NewContextAsync(new()
    {
        BaseURL = fixture.Server.BaseAddress.ToString(),
        ViewportSize = Accessibility.Phone,
    });

    [Fact]
    public async Task A_user_signs_out_another_session_and_sees_a_strangers_failed_attempt_in_recent_activity()
    {
        var name = await fixture.CreateUserAsync("acct");
        // A stranger guesses the password, from the API.
        using (var stranger = new HttpClient { BaseAddress = fixture.Server.BaseAddress })
        {
            var guess = await stranger.PostAsJsonAsync("/api/auth/login", new { username = name, password = "summer2026!" });
            Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
        }
        await using var laptop = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var other = await laptop.NewPageAsync();
        await BrowserFixture.SignInAsync(other, name);

        await using var phone = await PhoneAsync();
        var page = await phone.NewPageAsync();
        await BrowserFixture.SignInAsync(page, name);
        await page.ArriveAtAsync("/account");
        await page.AssertFitsWidthAsync();
        await page.AssertAccessibleAsync();

        // Recent activity: the stranger's failed attempt, with its address, beside this sign-in.
        var failed = page.Locator("#activity-list tr[data-action=login_failed]");
        Assert.Equal(1, await failed.CountAsync());
        Assert.Contains("127.0.0.1", await failed.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Failed", await failed.InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("account-phone.png"), FullPage = true });

        // Two sessions: this one marked, the laptop's with its own button.
        var rows = page.Locator("#session-list tbody tr");
        Assert.Equal(2, await rows.CountAsync());
        Assert.Equal(1, await page.Locator("#session-list tr.current").CountAsync());
        await page.Locator("#session-list tbody tr:not(.current)").GetByRole(AriaRole.Button).ClickAsync();
        await page.Locator("#account-success").WaitForAsync();
        Assert.Equal(1, await rows.CountAsync());
        await page.AssertAccessibleAsync();

        // The laptop is signed out at its next request.
        await other.ReloadAsync();
        Assert.Contains("/login", other.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task New_recovery_codes_ask_first_survive_a_reload_and_go_when_saved()
    {
        var name = await fixture.CreateUserAsync("codes");
        await using var phone = await PhoneAsync();
        var page = await phone.NewPageAsync();
        await BrowserFixture.SignInAsync(page, name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Set up an authenticator app" }).ClickAsync();
        var secret = OtpNet.Base32Encoding.ToBytes(await page.Locator("#totp-secret").InnerTextAsync());
        await page.GetByLabel("Code from the app").FillAsync(Totp.Rfc6238.Code(secret, Totp.Rfc6238.StepAt(DateTimeOffset.UtcNow)));
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        Assert.Equal(10, await page.Locator("#recovery-codes li").CountAsync());
        // A reload after confirming shows the same codes, not "That code did not match".
        await page.ReloadAsync();
        Assert.Equal(0, await page.GetByText("did not match").CountAsync());
        Assert.Equal(10, await page.Locator("#recovery-codes li").CountAsync());
        Assert.True(await page.Locator("#copy-codes").IsVisibleAsync());
        Assert.True(await page.Locator("#download-codes").IsVisibleAsync());
        await page.AssertFitsWidthAsync();
        await page.AssertAccessibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "I have saved them" }).ClickAsync();
        Assert.Equal(0, await page.Locator("#recovery-codes").CountAsync());

        // New codes: a confirmation step first; then a reload keeps the codes just made instead of making others.
        await page.Locator("#regenerate-codes").ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Make new recovery codes?" }).WaitForAsync();
        await page.AssertAccessibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, make new codes" }).ClickAsync();
        var shown = await page.Locator("#recovery-codes").InnerTextAsync();
        await page.ReloadAsync();
        Assert.Equal(shown, await page.Locator("#recovery-codes").InnerTextAsync());
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("account-recovery-codes.png"), FullPage = true });
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Storage.CountersignDb>();
        Assert.Equal(1, db.AuditEvents.Count(e => e.Username == name && e.Action == AuditActions.RecoveryCodesRegenerated));
    }

    [Fact]
    public async Task A_one_time_password_is_replaced_on_its_own_page_before_the_account_opens()
    {
        var name = "otp" + Guid.NewGuid().ToString("N")[..8];
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var (user, _) = await scope.ServiceProvider.GetRequiredService<AccountAdmin>().CreateAsync(name, BrowserFixture.Password, null, [],
                AuditActions.UserCreated, "test", null, null, (u, _) =>
                {
                    u.PasswordChangeRequired = true;
                    return Task.CompletedTask;
                }, CancellationToken.None);
            Assert.NotNull(user);
        }
        await using var phone = await PhoneAsync();
        var page = await phone.NewPageAsync();
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(BrowserFixture.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.ArriveAtAsync("/login/new-password");
        await page.AssertFitsWidthAsync();
        await page.AssertAccessibleAsync();
        await page.GetByLabel("New password").FillAsync(NewPassword);
        await page.GetByLabel("The same again").FillAsync(NewPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Save and continue" }).ClickAsync();
        await page.ArriveAtAsync("/account");
        Assert.Contains("new password is saved", await page.Locator("#account-success").InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("account.png"), FullPage = true });
    }

    [Fact]
    public async Task The_sign_up_and_forgotten_password_pages_fit_a_phone_and_pass_axe()
    {
        await using var phone = await PhoneAsync();
        var page = await phone.NewPageAsync();
        foreach (var path in new[] { "/login", "/signup", "/login/forgot" })
        {
            await page.GotoAsync(path);
            await page.AssertFitsWidthAsync();
            await page.AssertAccessibleAsync();
        }
        var name = "new" + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/signup");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(NewPassword);
        await page.GetByLabel("The same again").FillAsync(NewPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create the account" }).ClickAsync();
        await page.ArriveAtAsync("/login");
        Assert.Contains(name, await page.Locator("#login-notice").InnerTextAsync(), StringComparison.Ordinal);
    }
}
