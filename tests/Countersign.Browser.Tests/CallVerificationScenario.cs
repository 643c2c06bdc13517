using Countersign.Accounts;
using Countersign.CallVerification;
using Countersign.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// A server whose clock the test moves, so a rotation happens when the scenario says so rather than
/// whenever the wall clock crosses a minute. It starts one second into a window.
/// </summary>
public sealed class ClockedServer() : TestServer(Database.Postgres, StateStore.Redis)
{
    protected override void Configure(Dictionary<string, string?> settings) =>
        Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 + 1));
}

public sealed class CallsBrowserFixture() : BrowserFixture(new ClockedServer());

/// <summary>
/// The scenario with two browser contexts, an advisor and a client: each sees the other's
/// expected word, the advisor starts a call and the client sees the banner, the advisor checks the
/// client's word (green) and a wrong one (red), and a rotation updates both pages without a reload.
/// Screenshots of both pages go to the artefacts folder (scripts/test: ./artifacts).
/// </summary>
public sealed class CallVerificationScenario(CallsBrowserFixture fixture) : IClassFixture<CallsBrowserFixture>
{
    private async Task<(string Advisor, string Client)> PairAsync(string clientLanguage = "en")
    {
        var advisor = await fixture.CreateUserAsync("adv", Roles.Advisor);
        var client = await fixture.CreateUserAsync("cli", Roles.Client);
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<AccountAdmin>();
        Assert.True(await accounts.SetLanguageAsync((await accounts.FindAsync(client))!, clientLanguage));
        var (_, error) = await scope.ServiceProvider.GetRequiredService<PairService>().CreateAsync(advisor, client, "test");
        Assert.Equal(PairError.None, error);
        return (advisor, client);
    }

    private static async Task<IPage> OpenCallsAsync(IBrowserContext context, string name)
    {
        var page = await context.NewPageAsync();
        await BrowserFixture.SignInAsync(page, name);
        await page.GotoAsync("/calls");
        return page;
    }

    private static Task WaitLiveAsync(IPage page, string text = "Live") =>
        Assertions.Expect(page.Locator("#live-status")).ToHaveTextAsync(text, new() { Timeout = 15_000 });

    [Fact]
    public async Task Advisor_and_client_verify_each_other_and_see_the_words_rotate_without_reloading()
    {
        var (advisorName, clientName) = await PairAsync();
        await using var advisorContext = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString(), ViewportSize = new() { Width = 1100, Height = 760 } });
        await using var clientContext = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString(), ViewportSize = new() { Width = 800, Height = 760 } });
        var advisor = await OpenCallsAsync(advisorContext, advisorName);
        var client = await OpenCallsAsync(clientContext, clientName);
        await WaitLiveAsync(advisor);
        await WaitLiveAsync(client);

        // Each sees the other's expected word.
        var card = client.Locator($".pair[data-counterpart=\"{advisorName}\"]");
        var row = advisor.Locator($".pair[data-counterpart=\"{clientName}\"]");
        var clientWord = await card.Locator(".my-word").InnerTextAsync();
        var advisorWord = await card.Locator(".their-word").InnerTextAsync();
        Assert.Equal(clientWord, await row.Locator(".their-word").InnerTextAsync());
        Assert.Equal(advisorWord, await row.Locator(".my-word").InnerTextAsync());
        Assert.NotEqual(clientWord, advisorWord);
        await Assertions.Expect(card.Locator(".banner")).ToHaveTextAsync("No advisor is calling you now — if someone claims to, hang up.");

        // The advisor marks the call; the client's banner says so, live.
        await row.GetByRole(AriaRole.Button, new() { Name = "I'm calling" }).ClickAsync();
        await Assertions.Expect(card.Locator(".banner.calling")).ToHaveTextAsync($"{advisorName} is calling you now", new() { Timeout = 10_000 });

        // The advisor checks the word the client read out: green; then a wrong one: red.
        await row.GetByRole(AriaRole.Textbox).FillAsync(clientWord);
        await row.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();
        await Assertions.Expect(row.Locator(".result.ok")).ToHaveTextAsync("Match: the client's word is right.");
        await advisor.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-advisor-match.png"), FullPage = true });

        var wrong = WordLists.For("en").First(w => w != clientWord && w != advisorWord);
        await row.GetByRole(AriaRole.Textbox).FillAsync(wrong);
        await row.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();
        await Assertions.Expect(row.Locator(".result.bad")).ToContainTextAsync("No match");
        await advisor.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-advisor-mismatch.png"), FullPage = true });

        // The client confirms the advisor's word by typing it.
        await card.GetByRole(AriaRole.Textbox).FillAsync(advisorWord);
        await card.GetByRole(AriaRole.Button, new() { Name = "Check" }).ClickAsync();
        await Assertions.Expect(card.Locator(".result.ok")).ToHaveTextAsync("Match: this is your advisor.");
        await client.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-client-calling.png"), FullPage = true });

        // A rotation: both pages change words in place, and still agree.
        fixture.Server.Clock!.Advance(TimeSpan.FromSeconds(60));
        await Assertions.Expect(card.Locator(".my-word")).Not.ToHaveTextAsync(clientWord, new() { Timeout = 15_000 });
        await Assertions.Expect(row.Locator(".their-word")).Not.ToHaveTextAsync(clientWord, new() { Timeout = 15_000 });
        Assert.Equal(await card.Locator(".my-word").InnerTextAsync(), await row.Locator(".their-word").InnerTextAsync());
        Assert.Equal(await card.Locator(".their-word").InnerTextAsync(), await row.Locator(".my-word").InnerTextAsync());
        Assert.EndsWith("/calls", client.Url, StringComparison.Ordinal);
        await advisor.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-advisor-rotated.png"), FullPage = true });
        await client.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-client-rotated.png"), FullPage = true });
    }

    [Fact]
    public async Task A_wrong_word_turns_the_clients_card_red_and_shows_on_the_advisors_phone_at_once_and_the_end_of_the_session_stops_everything()
    {
        var (advisorName, clientName) = await PairAsync();
        await using var advisorContext = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString(), ViewportSize = Accessibility.Phone });
        await using var clientContext = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString(), ViewportSize = Accessibility.Phone });
        var advisor = await OpenCallsAsync(advisorContext, advisorName);
        var client = await OpenCallsAsync(clientContext, clientName);
        await WaitLiveAsync(advisor);
        await WaitLiveAsync(client);
        foreach (var page in new[] { advisor, client })
        {
            await page.AssertFitsWidthAsync();
            await page.AssertAccessibleAsync();
        }
        var card = client.Locator($".pair[data-counterpart=\"{advisorName}\"]");
        var row = advisor.Locator($".pair[data-counterpart=\"{clientName}\"]");
        await row.GetByRole(AriaRole.Button, new() { Name = "I'm calling" }).ClickAsync();
        await Assertions.Expect(card.Locator(".banner.calling")).ToBeVisibleAsync(new() { Timeout = 10_000 });

        // The client taps "They said something else": their banner turns red (no green banner above a red
        // message), and the advisor's console says so without a reload.
        await card.GetByRole(AriaRole.Button, new() { Name = "They said something else" }).ClickAsync();
        await Assertions.Expect(card.Locator(".banner.alarm")).ToHaveTextAsync("This may not be your advisor. Hang up and call your bank on a number you know.");
        await Assertions.Expect(card.Locator(".banner.calling")).ToHaveCountAsync(0);
        await Assertions.Expect(row.Locator(".result.bad")).ToHaveTextAsync("The client says they heard a different word. Stop the call: it has been reported.", new() { Timeout = 5_000 });
        Assert.Equal("alert", await row.Locator(".result").GetAttributeAsync("role"));
        await advisor.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-advisor-phone-client-mismatch.png"), FullPage = true });
        await client.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-client-phone-mismatch.png"), FullPage = true });
        foreach (var page in new[] { advisor, client })
        {
            await page.AssertFitsWidthAsync();
            await page.AssertAccessibleAsync();
        }

        // The live session ends (the server's inactivity timeout): words, countdown and banner all stop.
        fixture.Server.Clock!.Advance(TimeSpan.FromMinutes(4));
        await Assertions.Expect(client.Locator("#session-ended")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Assertions.Expect(card.Locator(".my-word")).ToHaveTextAsync("······");
        await Assertions.Expect(card.Locator(".countdown")).ToBeHiddenAsync();
        await Assertions.Expect(card.Locator(".banner")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_french_client_sees_the_page_and_the_words_in_french()
    {
        var (advisorName, clientName) = await PairAsync("fr");
        await using var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Server.BaseAddress.ToString() });
        var client = await OpenCallsAsync(context, clientName);
        await WaitLiveAsync(client, "En direct");
        Assert.Equal("fr", await client.Locator("html").GetAttributeAsync("lang"));
        var card = client.Locator($".pair[data-counterpart=\"{advisorName}\"]");
        await Assertions.Expect(card.Locator(".banner")).ToHaveTextAsync("Aucun conseiller ne vous appelle en ce moment — si quelqu'un le prétend, raccrochez.");
        Assert.Contains(await card.Locator(".my-word").InnerTextAsync(), WordLists.For("fr"));
        Assert.Contains("Votre mot", await card.InnerTextAsync(), StringComparison.Ordinal);
        await client.ScreenshotAsync(new() { Path = BrowserFixture.ArtifactPath("calls-client-fr.png"), FullPage = true });
    }
}
