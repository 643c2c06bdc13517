using System.Net;
using System.Text.RegularExpressions;

namespace Countersign.Tests.Infrastructure;

/// <summary>A cookie-keeping client that uses the pages as a browser would: anti-forgery tokens, form posts.</summary>
public sealed partial class BrowserSession(Uri baseAddress) : IDisposable
{
    private readonly HttpClient _client = new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public HttpClient Client => _client;

    /// <summary>The anti-forgery token of the page's first form (and its cookie, kept by the handler).</summary>
    public async Task<string> TokenAsync(string page)
    {
        var html = await _client.GetStringAsync(page);
        return Token(html) ?? throw new InvalidOperationException($"{page} has no anti-forgery token");
    }

    public static string? Token(string html) => TokenField().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;

    public async Task<HttpResponseMessage> PostFormAsync(string path, string token, params (string Key, string Value)[] fields) =>
        await _client.PostAsync(path, new FormUrlEncodedContent([new("__RequestVerificationToken", token), .. fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value))]));

    /// <summary>Signs in through <c>/login</c>; the cookie session is then on every request.</summary>
    public async Task SignInAsync(string username, string password)
    {
        var token = await TokenAsync("/login");
        var response = await PostFormAsync("/login", token, ("Username", username), ("Password", password));
        if (response.StatusCode != HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"page sign-in answered {(int)response.StatusCode}");
        }
    }

    public void Dispose() => _client.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
