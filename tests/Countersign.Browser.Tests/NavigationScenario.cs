namespace Countersign.Browser.Tests;

/// <summary>Navigation's waits on our own pages, whose Content-Security-Policy refuses <c>eval</c> (Navigation.cs says why that matters).</summary>
public sealed class NavigationScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_wait_that_is_false_at_first_keeps_polling_on_a_page_whose_policy_refuses_eval()
    {
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var response = await page.GotoAsync("/login");
        var policy = await response!.HeaderValueAsync("content-security-policy");
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
        await page.LoadedAsync();

        // The page leaves half a second after the wait starts, so its first look finds the old document and it has to
        // poll from the page's animation frames, where the policy applies.
        await page.NavigateByAsync(() => page.EvaluateAsync("() => { setTimeout(() => location.reload(), 500); }"));

        Assert.EndsWith("/login", page.Url, StringComparison.Ordinal);
        Assert.True(await page.EvaluateAsync<bool>("() => window.countersignLeft !== true"));
    }
}
