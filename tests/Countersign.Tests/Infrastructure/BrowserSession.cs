using System.Net;
using System.Text.RegularExpressions;

namespace Countersign.Tests.Infrastructure;

/// <summary>A cookie-keeping client that uses the pages as a browser would: anti-forgery tokens, form posts.</summary>
public sealed partial class BrowserSession(Uri baseAddress) : IDisposable
{
    private readonly HttpClient _client = new(new CookieJar { InnerHandler = new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false } })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public HttpClient Client => _client;

    /// <summary>The anti-forgery token of the page's first form (and its cookie, kept by the jar).</summary>
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

    /// <summary>
    /// Cookies as a browser keeps them for http://localhost: Secure and <c>__Host-</c> cookies included (browsers
    /// treat localhost as a secure context; .NET's CookieContainer does not, so it would drop the session cookie).
    /// </summary>
    private sealed class CookieJar : DelegatingHandler
    {
        private readonly Dictionary<string, string> _cookies = [];
        private readonly Lock _gate = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            lock (_gate)
            {
                if (_cookies.Count > 0 && !request.Headers.Contains("Cookie"))
                {
                    request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")));
                }
            }
            var response = await base.SendAsync(request, ct);
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                lock (_gate)
                {
                    foreach (var header in setCookies)
                    {
                        var pair = header.Split(';', 2)[0];
                        var eq = pair.IndexOf('=', StringComparison.Ordinal);
                        if (eq <= 0)
                        {
                            continue;
                        }
                        var (name, value) = (pair[..eq].Trim(), pair[(eq + 1)..].Trim());
                        var expired = header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)
                            || header.Contains("max-age=0", StringComparison.OrdinalIgnoreCase);
                        if (expired || value.Length == 0)
                        {
                            _cookies.Remove(name);
                        }
                        else
                        {
                            _cookies[name] = value;
                        }
                    }
                }
            }
            return response;
        }
    }
}
