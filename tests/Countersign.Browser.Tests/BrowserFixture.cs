using Countersign.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// A real server on a loopback socket and Debian's Chromium driven by Playwright. The browser is the
/// system one (COUNTERSIGN_TEST_CHROMIUM, default /usr/bin/chromium); Playwright never downloads one.
/// </summary>
public class BrowserFixture : IAsyncLifetime
{
    public TestServer Server { get; }

    public BrowserFixture() : this(new PostgresServer())
    {
    }

    protected BrowserFixture(TestServer server) => Server = server;

    public IBrowser Browser { get; private set; } = null!;
    private IPlaywright? _playwright;

    public async Task InitializeAsync()
    {
        await Server.InitializeAsync();
        _playwright = await Playwright.CreateAsync();
        var chromium = Environment.GetEnvironmentVariable("COUNTERSIGN_TEST_CHROMIUM") ?? "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException($"Chromium is not at {chromium}: run the tests through scripts/test, which installs it.");
        }
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium,
            Headless = true,
            // No sandbox as root in CI; no background traffic to Google on a closed network.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    public const string Password = "violet Anchor 7 drifting kites";

    /// <summary>An account made the way an administrator would, named with the given prefix.</summary>
    public async Task<string> CreateUserAsync(string prefix, params string[] roles)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var (user, result) = await scope.ServiceProvider.GetRequiredService<Countersign.Accounts.AccountAdmin>()
            .CreateAsync(prefix + Guid.NewGuid().ToString("N")[..8], Password, null, roles, Countersign.Audit.AuditActions.UserCreated, "test", null);
        Assert.True(result.Succeeded);
        return user!.UserName!;
    }

    /// <summary>Signs in through the login page (password only) and waits to leave it.</summary>
    public static async Task SignInAsync(IPage page, string name)
    {
        await page.GotoAsync("/login");
        // By the fields' ids, not their labels: the page may be in French (AccessibilityScenario).
        await page.Locator("#username").FillAsync(name);
        await page.Locator("#password").FillAsync(Password);
        await page.Locator("form.card button[type=submit]").ClickAsync();
        await page.LeaveSignInAsync();
    }

    /// <summary>Where screenshots go: COUNTERSIGN_TEST_ARTIFACTS (scripts/test sets ./artifacts), else a temp folder.</summary>
    public static string ArtifactPath(string name)
    {
        var folder = Environment.GetEnvironmentVariable("COUNTERSIGN_TEST_ARTIFACTS") is { Length: > 0 } set
            ? set : Path.Combine(Path.GetTempPath(), "countersign-artifacts");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    /// <summary>
    /// Signs out with the header's button and waits for the signed-out page. The wait is long because twice
    /// in ~25 runs this step took over 30 s on the shared two-core machine (not understood; see the note).
    /// </summary>
    public static async Task SignOutAsync(IPage page)
    {
        // The header's sign-out button and, after it, the header's own link to sign in again: in any language.
        await page.Locator("header nav form button[type=submit]").ClickAsync();
        await page.Locator("header nav a[href='/login']").WaitForAsync(new() { Timeout = 90_000 });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        await Server.DisposeAsync();
    }
}
