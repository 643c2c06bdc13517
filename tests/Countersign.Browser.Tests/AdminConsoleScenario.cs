using System.Net.Http.Json;
using Countersign.Accounts;
using Countersign.Totp;
using Microsoft.Playwright;
using OtpNet;

namespace Countersign.Browser.Tests;

/// <summary>
/// Issue 16's admin scenario in Chromium at a phone's 390×844: an administrator signs in with TOTP, re-authenticates,
/// creates a user, revokes their session, resets their second factor, unlocks a username, imports pairs from CSV with one
/// bad line, filters the audit and verifies the chain. Screenshots of each page go to artifacts/.
/// </summary>
public sealed class AdminConsoleScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task An_admin_runs_the_console_from_sign_in_to_a_verified_audit_chain()
    {
        var admin = await fixture.CreateUserAsync("chief", Roles.Admin);
        var (secret, step) = await EnrolTotpAsync(admin);
        await using var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
            ViewportSize = Accessibility.Phone,
        });
        var page = await context.NewPageAsync();

        // Sign in with password and code.
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(admin);
        await page.GetByLabel("Password").FillAsync(BrowserFixture.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.Locator("#second-factor").WaitForAsync();
        await page.GetByLabel("Code").FillAsync(Rfc6238.Code(secret, step));
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
        await page.LeaveSignInAsync();

        // Re-authenticate with a fresh code (a later step: the sign-in's is spent, RFC 6238 §5.2).
        await page.GotoAsync("/reauth?returnUrl=%2Fadmin");
        await page.GetByLabel("Six-digit code").FillAsync(Rfc6238.Code(secret, step + 1));
        await page.Locator("form:has(#reauth-code) button").ClickAsync();
        await page.ArriveAtAsync("/admin");
        await AssertFitsAsync(page, "admin-dashboard.png");

        // Create a user; the one-time password is shown once on their page.
        await page.GotoAsync("/admin/users");
        var name = "newcomer" + Guid.NewGuid().ToString("N")[..6];
        await page.GetByLabel("Username", new() { Exact = true }).Last.FillAsync(name);
        await page.GetByLabel("advisor").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = name }).WaitForAsync();
        var oneTime = await page.Locator("code.secret").InnerTextAsync();
        await AssertFitsAsync(page, "admin-user-created.png");

        // The user signs in elsewhere (a session to revoke), then enrols an app (a second factor to reset).
        using (var api = new HttpClient { BaseAddress = fixture.Server.BaseAddress })
        {
            // The one-time password signs in only together with the new password the user chooses.
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await api.PostAsJsonAsync("/api/auth/login", new { username = name, password = oneTime })).StatusCode);
            (await api.PostAsJsonAsync("/api/auth/login", new { username = name, password = oneTime, new_password = "a brand new passphrase 42" })).EnsureSuccessStatusCode();
        }
        await EnrolTotpAsync(name);
        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "End the session started" }).ClickAsync();
        // Destructive: a confirm step names what will happen first (server-side, no script).
        await page.GetByRole(AriaRole.Heading, new() { Name = $"End this session of {name}?" }).WaitForAsync();
        await AssertFitsAsync(page, "admin-confirm.png");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, go ahead" }).ClickAsync();
        await page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Session ended." }).WaitForAsync();
        Assert.Contains("No live session.", await page.Locator("#sessions").Locator("..").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Authenticator app: on", await page.Locator("#factors").Locator("..").InnerTextAsync(), StringComparison.Ordinal);
        await page.GetByRole(AriaRole.Button, new() { Name = "Reset second factors" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, go ahead" }).ClickAsync();
        await page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Second factors reset" }).WaitForAsync();
        Assert.Contains("Authenticator app: off", await page.Locator("#factors").Locator("..").InnerTextAsync(), StringComparison.Ordinal);
        await AssertFitsAsync(page, "admin-user.png");

        // Unlock a username someone hammered.
        var victim = await fixture.CreateUserAsync("locked");
        using (var api = new HttpClient { BaseAddress = fixture.Server.BaseAddress })
        {
            for (var i = 0; i < 5; i++)
            {
                await api.PostAsJsonAsync("/api/auth/login", new { username = victim, password = "wrong" + i });
            }
        }
        await page.GotoAsync("/admin/defences");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Unlock {victim}" }).ClickAsync();
        await page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"Unlocked {victim}." }).WaitForAsync();
        await AssertFitsAsync(page, "admin-defences.png");

        // Import pairs from CSV with one bad line: the preview says which, the import makes the good one.
        var advisor = await fixture.CreateUserAsync("adv", Roles.Advisor);
        var client = await fixture.CreateUserAsync("cli", Roles.Client);
        await page.GotoAsync("/admin/pairs");
        await page.GetByLabel("One advisor,client per line").FillAsync($"advisor,client\n{advisor},{client}\n{client},{advisor}\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Preview" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Preview: 1 to create, 1 with errors" }).WaitForAsync();
        await AssertFitsAsync(page, "admin-pairs-preview.png");
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "line 3:" }).WaitForAsync();
        Assert.Contains("Created 1 pair(s), 1 refused.", await page.GetByRole(AriaRole.Status).AllInnerTextsAsync() is var s ? string.Join(" ", s) : "", StringComparison.Ordinal);

        // Add a service (its token shown once, after the redirect), grant the new user it, and see the grant listed.
        await page.GotoAsync("/admin/services");
        var service = "wiki" + Guid.NewGuid().ToString("N")[..6];
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(service);
        await page.GetByLabel("Host", new() { Exact = true }).FillAsync($"{service}.example");
        await page.GetByLabel("Send the user's name and roles to the service").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = $"The token for {service}" }).WaitForAsync();
        Assert.Matches("^[A-Za-z0-9_-]{43}$", await page.Locator("#service-token-value").InnerTextAsync());
        Assert.True(await page.GetByRole(AriaRole.Button, new() { Name = "Copy the token" }).IsVisibleAsync());
        await AssertFitsAsync(page, "admin-services.png");
        await page.GetByLabel("User", new() { Exact = true }).Last.FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"{name} may now use {service}." }).WaitForAsync();
        Assert.Equal(0, await page.Locator("#service-token-value").CountAsync());
        Assert.Equal(1, await page.GetByRole(AriaRole.Button, new() { Name = $"Take away {name}'s grant for {service}" }).CountAsync());

        // Register an OpenID Connect application; its secret is shown once.
        await page.GotoAsync("/admin/clients");
        var app = "crm" + Guid.NewGuid().ToString("N")[..6];
        await page.GetByLabel("Client id").FillAsync(app);
        await page.GetByLabel("Redirect URIs, one per line", new() { Exact = true }).FillAsync($"https://{app}.example/signin-oidc");
        await page.GetByLabel("Confidential: a server-side application that can keep a secret").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = $"The secret for {app}" }).WaitForAsync();
        await AssertFitsAsync(page, "admin-clients.png");
        await page.ReloadAsync();
        Assert.Equal(0, await page.Locator("#client-secret-value").CountAsync());

        // Filter the audit and verify the chain.
        await page.GotoAsync("/admin/audit");
        await page.GetByLabel("Action").FillAsync("pair_created");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).Last.ClickAsync();
        await page.ArriveAsync(new Regex("action=pair_created"));
        Assert.Equal(1, await page.Locator("table.audit tbody tr").CountAsync());
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify the chain" }).ClickAsync();
        await page.Locator("#verify-result").WaitForAsync();
        Assert.StartsWith("Intact:", await page.Locator("#verify-result").InnerTextAsync(), StringComparison.Ordinal);
        await AssertFitsAsync(page, "admin-audit.png");

        // The README's picture: the dashboard on a desktop.
        await page.SetViewportSizeAsync(1280, 900);
        await page.GotoAsync("/admin");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("admin-console.png"), FullPage = true });
    }

    /// <summary>No serious or critical axe violation, no wider than the 390-pixel viewport (issue 16), then a screenshot.</summary>
    private static async Task AssertFitsAsync(IPage page, string screenshot)
    {
        await page.AssertAccessibleAsync();
        await page.AssertFitsWidthAsync();
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath(screenshot), FullPage = true });
    }

    /// <summary>Enrols with the code of step s−1 and returns s: the sign-in uses s, the re-authentication s+1.</summary>
    private async Task<(byte[] Secret, long Step)> EnrolTotpAsync(string name)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var user = (await scope.ServiceProvider.GetRequiredService<AccountAdmin>().FindAsync(name))!;
        var totp = scope.ServiceProvider.GetRequiredService<TotpService>();
        var secret = Base32Encoding.ToBytes((await totp.StartAsync(user))!.Secret);
        var step = await SettledStepAsync();
        Assert.True(await totp.ConfirmAsync(user.Id, Rfc6238.Code(secret, step - 1)));
        return (secret, step);
    }

    private static async Task<long> SettledStepAsync()
    {
        if (Rfc6238.Period - DateTimeOffset.UtcNow.ToUnixTimeSeconds() % Rfc6238.Period < 8)
        {
            await Task.Delay(TimeSpan.FromSeconds(9));
        }
        return Rfc6238.StepAt(DateTimeOffset.UtcNow);
    }
}
