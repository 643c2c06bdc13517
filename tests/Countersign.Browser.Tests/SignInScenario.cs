using Countersign.Accounts;
using Countersign.Audit;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

public sealed class SignInScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = BrowserFixture.Password;

    [Fact]
    public async Task A_user_signs_in_through_the_login_page_and_sees_their_account()
    {
        var name = await fixture.CreateUserAsync("web", Roles.Client);
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();

        await page.GotoAsync("/account");
        Assert.EndsWith("/login?ReturnUrl=%2Faccount", page.Url, StringComparison.Ordinal);

        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();

        await page.ArriveAtAsync("/account");
        Assert.Equal(name, await page.Locator("#account-username").InnerTextAsync());
        Assert.Contains("client", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);

        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "__Host-countersign");
        Assert.True(cookie.HttpOnly);
        Assert.True(cookie.Secure);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
        Assert.Equal("/", cookie.Path);

        // The session cookie opens pages only; the API wants a bearer token, so no cross-site request can ride it.
        var api = await page.APIRequest.GetAsync("/api/me");
        Assert.Equal(401, api.Status);
    }

    [Fact]
    public async Task A_wrong_password_shows_the_generic_message_and_signing_out_ends_the_session()
    {
        var name = await fixture.CreateUserAsync("web", Roles.Client);
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync("not the password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        Assert.Equal("The username or password is incorrect.", await page.Locator("#login-error").InnerTextAsync());

        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.ArriveAtAsync("/account");
        var sessionCookie = (await context.CookiesAsync()).Single(c => c.Name == "__Host-countersign");

        await BrowserFixture.SignOutAsync(page);
        Assert.Contains("You have signed out", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);

        // Replaying the old cookie does not bring the session back: it was ended on the server.
        await using var replay = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        await replay.AddCookiesAsync([new Cookie
        {
            Name = sessionCookie.Name, Value = sessionCookie.Value, Domain = sessionCookie.Domain, Path = "/",
            Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Lax,
        }]);
        var again = await replay.NewPageAsync();
        await again.GotoAsync("/account");
        Assert.Contains("/login", again.Url, StringComparison.Ordinal);
    }
}
