using System.Net;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Pages;

/// <summary>
/// The per-address defences on, cheaply reached, behind a trusted proxy so each language's walk comes from an address of
/// its own: the 428 "a check is needed" and 429 "too many attempts" states of <c>/login</c> in one language only.
/// </summary>
public sealed class DefendedPagesServer() : TestServer(Database.Sqlite)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Network:TrustedProxies:0"] = "127.0.0.1";
        settings["Defences:Captcha:Enabled"] = "true";
        settings["Defences:Captcha:AfterFailures"] = "2";
        settings["Defences:Captcha:MaxNumber"] = "2000";
        settings["Defences:RateLimits:Enabled"] = "true";
        settings["Defences:RateLimits:Login"] = "4";
    }
}

public sealed class DefendedSignInPagesTests(DefendedPagesServer server) : IClassFixture<DefendedPagesServer>
{
    [Theory]
    [InlineData("fr", "fr-FR,fr;q=0.9", "203.0.113.7")]
    [InlineData("en", "en-GB,en;q=0.9", "203.0.113.8")]
    public async Task The_captcha_and_rate_limit_states_of_the_sign_in_page_speak_one_language(string language, string acceptLanguage, string address)
    {
        using var browser = new BrowserSession(server.BaseAddress);
        browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(acceptLanguage);
        browser.Client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        var seen = new HashSet<int>();
        for (var i = 0; i < 10 && !(seen.Contains(428) && seen.Contains(429)); i++)
        {
            var response = await browser.PostFormAsync("/login", await browser.TokenAsync("/login"),
                ("Username", "nobody" + Guid.NewGuid().ToString("N")[..8]), ("Password", "a wrong guess " + i));
            seen.Add((int)response.StatusCode);
            PageWords.AssertSpeaks(language, $"/login ({(int)response.StatusCode})", await response.Content.ReadAsStringAsync());
        }
        Assert.Contains(428, seen);
        Assert.Contains(429, seen);
        // The page a gated address is shown before it tries again: the note that its browser now computes first.
        PageWords.AssertSpeaks(language, "/login (gated)", await browser.Client.GetStringAsync("/login"));
    }
}
