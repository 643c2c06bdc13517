using System.Globalization;
using System.Resources;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>A server whose per-address proof of work is on, as it is by default in production.</summary>
public sealed class CaptchaServer() : TestServer(Database.Postgres, StateStore.Redis)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Defences:Captcha:Enabled"] = "true";
        settings["Defences:Captcha:MaxNumber"] = "50000";
    }
}

public sealed class CaptchaBrowserFixture() : BrowserFixture(new CaptchaServer());

public sealed class CaptchaScenario(CaptchaBrowserFixture fixture) : IClassFixture<CaptchaBrowserFixture>
{
    private const string Password = BrowserFixture.Password;

    [Fact]
    public async Task After_five_wrong_passwords_the_widget_solves_a_challenge_and_the_right_password_signs_in()
    {
        var name = await fixture.CreateUserAsync("pow");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, m) => console.Add(m.Type + ": " + m.Text);
        page.PageError += (_, e) => console.Add("error: " + e);
        page.Response += (_, r) => console.Add($"{r.Status} {r.Url}");
        await page.GotoAsync("/login");
        Assert.Equal(0, await page.Locator("altcha-widget").CountAsync());

        for (var i = 0; i < 5; i++)
        {
            await page.GetByLabel("Username").FillAsync(name);
            await page.GetByLabel("Password").FillAsync("wrong password " + i);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
            Assert.Equal("The username or password is incorrect.", await page.Locator("#login-error").InnerTextAsync());
        }

        // The widget is on the page now and solves its challenge by itself.
        try
        {
            await page.Locator("altcha-widget .altcha[data-state=\"verified\"]").WaitForAsync(new() { Timeout = 30_000 });
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException(string.Join("\n", console) + "\n" + await page.Locator("form").InnerHTMLAsync());
        }
        Assert.False(string.IsNullOrEmpty(await page.Locator("input[name=altcha]").InputValueAsync()));

        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.ArriveAtAsync("/account");
        Assert.Equal(name, await page.Locator("#account-username").InnerTextAsync());
    }

    /// <summary>
    /// On a French page the widget's own words are French (issue 16): altcha bundles English only, and once showed it
    /// ("Verified", "I'm not a robot") on French pages. The gated page passes axe with the widget on it.
    /// </summary>
    [Fact]
    public async Task On_a_french_page_the_widget_speaks_french()
    {
        var name = await fixture.CreateUserAsync("pow-fr");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString(), Locale = "fr-FR" });
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, m) => console.Add(m.Type + ": " + m.Text);
        page.PageError += (_, e) => console.Add("error: " + e);
        await page.GotoAsync("/login");
        for (var i = 0; i < 5; i++)
        {
            await page.Locator("#username").FillAsync(name);
            await page.Locator("#password").FillAsync("wrong password " + i);
            // Once the address is gated (here, or by the other test before this one), the widget's checkbox is a required
            // field until its challenge is solved: the browser sends nothing before that (it shows the widget's waitAlert).
            if (await page.Locator("altcha-widget").CountAsync() > 0)
            {
                await page.Locator("altcha-widget .altcha[data-state=\"verified\"]").WaitForAsync(new() { Timeout = 30_000 });
            }
            // The answer to the post, not the error already on the page.
            try
            {
                await page.NavigateByAsync(() => page.RunAndWaitForResponseAsync(() => page.Locator("form.card button[type=submit]").ClickAsync(),
                    r => r.Request.Method == "POST" && r.Url.Contains("/login", StringComparison.Ordinal)));
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"attempt {i}: " + string.Join("\n", console) + "\n" + await page.Locator("form").First.InnerHTMLAsync());
            }
        }
        Assert.Equal("fr", await page.Locator("html").GetAttributeAsync("lang"));

        var french = new ResourceManager(typeof(Countersign.Pages.CaptchaText).FullName!, typeof(Countersign.Pages.CaptchaText).Assembly);
        var verified = page.Locator("altcha-widget .altcha[data-state=\"verified\"]");
        await verified.WaitForAsync(new() { Timeout = 30_000 });
        var word = french.GetString("verified", CultureInfo.GetCultureInfo("fr"))!;
        var shown = await page.Locator("altcha-widget").InnerTextAsync();
        Assert.Contains(word, shown, StringComparison.Ordinal);
        Assert.DoesNotContain("Verified", shown, StringComparison.Ordinal);
        // The checkbox is named by the widget's label, so a screen reader says it in French too.
        Assert.Equal(1, await page.GetByRole(AriaRole.Checkbox, new() { Name = word, Exact = true }).CountAsync());
        await page.AssertAccessibleAsync();

        await page.Locator("#username").FillAsync(name);
        await page.Locator("#password").FillAsync(Password);
        await page.Locator("form.card button[type=submit]").ClickAsync();
        await page.ArriveAtAsync("/account");
    }
}
