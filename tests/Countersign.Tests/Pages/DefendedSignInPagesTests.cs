using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
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
    /// <summary>A browser of that language, from an address of its own (each test's defences count it alone).</summary>
    private BrowserSession Browser(string acceptLanguage, string address)
    {
        var browser = new BrowserSession(server.BaseAddress);
        browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(acceptLanguage);
        browser.Client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return browser;
    }

    /// <summary>A sign-in with an unknown name and a wrong password: one more failure for the address.</summary>
    private static async Task<HttpResponseMessage> WrongGuessAsync(BrowserSession browser, int i) =>
        await browser.PostFormAsync("/login", await browser.TokenAsync("/login"),
            ("Username", "nobody" + Guid.NewGuid().ToString("N")[..8]), ("Password", "a wrong guess " + i));

    [Theory]
    [InlineData("fr", "fr-FR,fr;q=0.9", "203.0.113.7")]
    [InlineData("en", "en-GB,en;q=0.9", "203.0.113.8")]
    public async Task The_captcha_and_rate_limit_states_of_the_sign_in_page_speak_one_language(string language, string acceptLanguage, string address)
    {
        using var browser = Browser(acceptLanguage, address);
        var seen = new HashSet<int>();
        for (var i = 0; i < 10 && !(seen.Contains(428) && seen.Contains(429)); i++)
        {
            var response = await WrongGuessAsync(browser, i);
            seen.Add((int)response.StatusCode);
            PageWords.AssertSpeaks(language, $"/login ({(int)response.StatusCode})", await response.Content.ReadAsStringAsync());
        }
        Assert.Contains(428, seen);
        Assert.Contains(429, seen);
        // The page a gated address is shown before it tries again: the note that its browser now computes first.
        PageWords.AssertSpeaks(language, "/login (gated)", await browser.Client.GetStringAsync("/login"));
    }

    /// <summary>
    /// The proof-of-work widget speaks the page's language: it is told the language and handed a word for every string the
    /// installed altcha knows — the keys of its bundled English, read from the widget's script as this server serves it, so
    /// an upgrade that adds a string fails here rather than showing "undefined" (altcha uses a language's set as it is,
    /// with no English fallback per key) — each from that language's resources; on a French page none is altcha's English.
    /// </summary>
    [Theory]
    [InlineData("fr", "fr-FR,fr;q=0.9", "203.0.113.9")]
    [InlineData("en", "en-GB,en;q=0.9", "203.0.113.10")]
    public async Task The_captcha_widget_is_handed_all_its_words_in_the_pages_language(string language, string acceptLanguage, string address)
    {
        using var browser = Browser(acceptLanguage, address);
        var html = "";
        for (var i = 0; i < 4 && !html.Contains("<altcha-widget", StringComparison.Ordinal); i++)
        {
            var response = await WrongGuessAsync(browser, i);
            html = await response.Content.ReadAsStringAsync();
        }
        Assert.Contains($"<altcha-widget id=\"captcha\" name=\"altcha\" auto=\"onload\" language=\"{language}\"", html, StringComparison.Ordinal);
        var handed = JsonDocument.Parse(Regex.Match(html, "<script id=\"captcha-text\" type=\"application/json\"[^>]*>(.*?)</script>", RegexOptions.Singleline)
            .Groups[1].Value).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

        var bundled = BundledEnglish(await browser.Client.GetStringAsync("/lib/altcha/altcha.min.js"));
        Assert.True(bundled.Count >= 10, "altcha's English strings were not found in its script");
        Assert.Equal(bundled.Keys.Order(), handed.Keys.Order());
        var resources = Unit.PageResourceTests.Entries(typeof(Countersign.Pages.CaptchaText).FullName!,
            language == "fr" ? CultureInfo.GetCultureInfo("fr") : CultureInfo.InvariantCulture);
        Assert.Equal(resources.OrderBy(w => w.Key, StringComparer.Ordinal), handed.OrderBy(w => w.Key, StringComparer.Ordinal));
        if (language == "fr")
        {
            Assert.All(handed, w => Assert.NotEqual(bundled[w.Key], w.Value));
        }
    }

    /// <summary>The <c>i18n</c> object altcha registers as "en", from its minified script: <c>{ariaLinkLabel:"…",cancel:"…",…}</c>.</summary>
    private static Dictionary<string, string> BundledEnglish(string script)
    {
        var start = script.IndexOf("{ariaLinkLabel:", StringComparison.Ordinal);
        Assert.True(start >= 0, "no {ariaLinkLabel: in altcha.min.js");
        var end = script.IndexOf('}', start);
        return Regex.Matches(script[start..end], @"(?<=[{,])(\w+):(?:""([^""]*)""|'([^']*)')")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value);
    }
}
