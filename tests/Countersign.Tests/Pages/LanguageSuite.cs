using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Pages;

/// <summary>
/// The pages' language: the signed-in user's setting first, then the browser's <c>Accept-Language</c>, then
/// English; the <c>lang</c> attribute follows (issue 16). On SQLite with memory and PostgreSQL with Redis.
/// </summary>
public abstract class LanguageSuite(TestServer server) : ApiSuiteBase(server)
{
    private static readonly Dictionary<string, string> English = Unit.PageResourceTests.Entries(typeof(Countersign.Pages.PageText).FullName!, CultureInfo.InvariantCulture);
    private static readonly Dictionary<string, string> French = Unit.PageResourceTests.Entries(typeof(Countersign.Pages.PageText).FullName!, CultureInfo.GetCultureInfo("fr"));

    private async Task<BrowserSession> SignedInAsync(string language, string? acceptLanguage = null)
    {
        var name = await RegisterAsync();
        var token = await TokenAsync(name);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Put, "/api/me/language", token, new { language }))).StatusCode);
        var browser = new BrowserSession(Server.BaseAddress);
        if (acceptLanguage is not null)
        {
            browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(acceptLanguage);
        }
        await browser.SignInAsync(name, Password);
        return browser;
    }

    /// <summary>
    /// The page says nothing in English: its text and its labelling attributes hold no English word of the
    /// resources, and the words handed to the page's script are the French ones.
    /// </summary>
    private static void AssertFrench(string html)
    {
        Assert.Contains("<html lang=\"fr\">", html, StringComparison.Ordinal);
        var shown = WebUtility.HtmlDecode(string.Join("\n", Regex.Matches(Regex.Replace(html, "<script[^>]*>.*?</script>", "", RegexOptions.Singleline),
            ">([^<]+)<|(?:placeholder|aria-label|title|alt|value)=\"([^\"]*)\"").Select(m => m.Groups[1].Value + m.Groups[2].Value)));
        foreach (var (key, english) in English.Where(e => e.Value != French[e.Key]))
        {
            Assert.False(Regex.IsMatch(shown, $@"(?<!\w){Regex.Escape(english)}(?!\w)"), $"English \"{english}\" ({key}) on a French page");
        }
        if (Regex.Match(html, "<script id=\"calls-text\" type=\"application/json\">(.*?)</script>", RegexOptions.Singleline) is { Success: true } script)
        {
            foreach (var word in System.Text.Json.JsonDocument.Parse(script.Groups[1].Value).RootElement.EnumerateObject())
            {
                Assert.DoesNotContain(word.Value.GetString(), English.Where(e => e.Value != French[e.Key]).Select(e => e.Value));
            }
        }
    }

    [Fact]
    public async Task A_user_who_chose_french_sees_the_calls_page_and_its_live_words_in_french()
    {
        using var browser = await SignedInAsync("fr", acceptLanguage: "en-GB");
        var html = await browser.Client.GetStringAsync("/calls");
        AssertFrench(html);
        Assert.Contains(French["CallsTitle"], WebUtility.HtmlDecode(html), StringComparison.Ordinal);
        // The words calls.js shows later are handed over in French too.
        var script = Regex.Match(html, "<script id=\"calls-text\" type=\"application/json\">(.*?)</script>", RegexOptions.Singleline);
        Assert.Equal(French["Reconnecting"], System.Text.Json.JsonDocument.Parse(script.Groups[1].Value).RootElement.GetProperty("reconnecting").GetString());
    }

    [Fact]
    public async Task The_users_setting_wins_over_the_browsers_language()
    {
        using var browser = await SignedInAsync("en", acceptLanguage: "fr-FR,fr;q=0.9");
        var html = await browser.Client.GetStringAsync("/calls");
        Assert.Contains("<html lang=\"en\">", html, StringComparison.Ordinal);
        Assert.Contains(English["CallsTitle"], WebUtility.HtmlDecode(html), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fr-CA,fr;q=0.9,en;q=0.5", "fr")]
    [InlineData("fr", "fr")]
    [InlineData("de-DE,de;q=0.9", "en")]
    [InlineData("x-klingon-;;=", "en")]
    [InlineData(null, "en")]
    public async Task Without_a_signed_in_user_the_browsers_language_decides(string? acceptLanguage, string expected)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/login");
        if (acceptLanguage is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Language", acceptLanguage);
        }
        var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"<html lang=\"{expected}\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changing_the_language_on_the_account_page_answers_in_the_new_language()
    {
        using var browser = await SignedInAsync("en");
        var token = await browser.TokenAsync("/account");
        var response = await browser.PostFormAsync("/account?handler=Language", token, ("Language", "fr"));
        var html = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.Redirect)
        {
            html = await browser.Client.GetStringAsync(response.Headers.Location!.OriginalString);
        }
        Assert.Contains("<html lang=\"fr\">", html, StringComparison.Ordinal);
        Assert.Contains(French["LanguageLabel"], WebUtility.HtmlDecode(html), StringComparison.Ordinal);
        AssertFrench(await browser.Client.GetStringAsync("/calls"));
    }

    [Theory]
    [InlineData("/devices/add")]
    [InlineData("/connect/logout/confirm?state=x")]
    public async Task A_french_browser_sees_the_anonymous_pages_in_french(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5");
        var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertFrench(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_applications_ui_locales_picks_the_language_of_its_sign_in_and_consent_pages_only()
    {
        // An account that never chose a language, in an English browser, sent by an application that asks for French
        // (OIDC Core 1.0 §3.1.2.1: ui_locales, in order of preference; German is not spoken here and is passed over).
        var name = await RegisterAsync();
        using var oidc = new Oidc.OidcDriver(Server);
        oidc.Browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en-GB,en;q=0.9");
        var client = await oidc.ClientAsync(firstParty: false);
        var url = Oidc.OidcDriver.AuthorizeUrl(client, Oidc.OidcDriver.Pkce.New(), "openid profile", extra: ("ui_locales", "de-DE fr-CA en"));

        var login = await oidc.FollowAsync(url);
        Assert.StartsWith("/login", login.PagePath, StringComparison.Ordinal);
        Assert.Contains("<html lang=\"fr\">", login.Page, StringComparison.Ordinal);
        // A refused attempt answers the form, whose ReturnUrl still carries the request: French again.
        var returnUrl = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(Server.BaseAddress, login.PagePath).Query)["ReturnUrl"].ToString();
        var refused = await oidc.Browser.PostFormAsync("/login", BrowserSession.Token(login.Page!)!, ("Username", name), ("Password", "not it"), ("ReturnUrl", returnUrl));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("<html lang=\"fr\">", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var consent = await oidc.SignInAsync(login, name);
        Assert.StartsWith("/consent", consent.PagePath, StringComparison.Ordinal);
        Assert.Contains("<html lang=\"fr\">", consent.Page, StringComparison.Ordinal);
        Assert.Contains(French["ConsentTitle"], WebUtility.HtmlDecode(consent.Page!), StringComparison.Ordinal);

        // Outside that flow the account's own setting decides.
        Assert.Contains("<html lang=\"en\">", await oidc.Browser.Client.GetStringAsync("/account"), StringComparison.Ordinal);
        // Without ui_locales the same request is English.
        oidc.NewBrowser();
        oidc.Browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en-GB,en;q=0.9");
        var plain = await oidc.FollowAsync(Oidc.OidcDriver.AuthorizeUrl(client, Oidc.OidcDriver.Pkce.New(), "openid profile"));
        Assert.Equal(HttpStatusCode.OK, plain.Status);
        Assert.Contains("<html lang=\"en\">", plain.Page, StringComparison.Ordinal);
    }

    /// <summary>A seeded fuzz of the one input the language adds: <c>ui_locales</c>, alone and inside a return address.</summary>
    [Fact]
    public async Task Fuzzed_ui_locales_never_fail_a_page_and_pick_only_a_language_we_speak()
    {
        var random = new Random(20261202);
        string[] pieces = ["fr", "FR", "fr-CA", "en", "de", "-", "--", " ", "  ", "\t", "%", "%20", "&", "=", "é", "\u202e", "\0", "x-", "zh-Hant-TW", "*", ";q=0.5", "+"];
        string Locales() => string.Concat(Enumerable.Range(0, random.Next(0, 12)).Select(_ => random.Next(4) == 0
            ? new string((char)random.Next(1, 0xD7FF), random.Next(1, 300)) : pieces[random.Next(pieces.Length)]));
        using var browser = new BrowserSession(Server.BaseAddress);
        var token = await browser.TokenAsync("/login");
        for (var i = 0; i < 150; i++)
        {
            var locales = Locales();
            var back = "/connect/authorize?client_id=x&ui_locales=" + Uri.EscapeDataString(locales);
            HttpResponseMessage[] responses =
            [
                await browser.Client.GetAsync("/connect/logout/confirm?ui_locales=" + Uri.EscapeDataString(locales)),
                await browser.Client.GetAsync("/login?ReturnUrl=" + Uri.EscapeDataString(back)),
                await browser.PostFormAsync("/login", token, ("Username", "nobody"), ("Password", "x"), ("ReturnUrl", back)),
            ];
            foreach (var response in responses)
            {
                Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for ui_locales {locales}");
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    Assert.Matches("<html lang=\"(en|fr)\">", await response.Content.ReadAsStringAsync());
                }
            }
        }
    }

    [Fact]
    public async Task A_french_user_signs_out_in_french()
    {
        using var browser = await SignedInAsync("fr");
        var token = await browser.TokenAsync("/calls");
        var response = await browser.PostFormAsync("/logout", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        AssertFrench(html);
        Assert.Contains(French["SignedOutTitle"], WebUtility.HtmlDecode(html), StringComparison.Ordinal);
    }
}

public sealed class SqliteLanguageTests(SqliteServer server) : LanguageSuite(server), IClassFixture<SqliteServer>;

public sealed class PostgresLanguageTests(PostgresServer server) : LanguageSuite(server), IClassFixture<PostgresServer>;
