using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Countersign.Tests.ForwardAuth;
using Countersign.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace Countersign.Tests.Oidc;

/// <summary>
/// A relying party and its user's browser, spoken at the protocol level: the authorization request, the pages the user
/// fills in (login with its second step, consent), the redirect back, then the back channel (token, userinfo, …).
/// </summary>
public sealed partial class OidcDriver(TestServer server) : IDisposable
{
    public const string RedirectUri = "https://app.example.test/callback";

    private static readonly string[] AfterLogout = ["https://app.example.test/bye"];

    public ForwardAuthSteps Steps { get; } = new(server);

    public BrowserSession Browser { get; private set; } = new(server.BaseAddress);

    /// <summary>The back channel: no cookies, no redirects.</summary>
    public HttpClient Back { get; } = new(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false })
    {
        BaseAddress = server.BaseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public void NewBrowser()
    {
        Browser.Dispose();
        Browser = new BrowserSession(server.BaseAddress);
    }

    public async Task<string> ClientAsync(string? name = null, bool confidential = true, bool firstParty = true, bool pairwise = false,
        bool requirePar = false, bool requireMfa = false, bool clientCredentials = false, string redirectUri = RedirectUri)
    {
        name ??= "rp" + Guid.NewGuid().ToString("N")[..10];
        var response = await Back.SendAsync(ForwardAuthSteps.WithToken(HttpMethod.Post, "/api/admin/clients", await Steps.AdminAsync(), new
        {
            name, redirect_uris = new[] { redirectUri }, post_logout_redirect_uris = AfterLogout,
            confidential, first_party = firstParty, pairwise, require_par = requirePar, require_mfa = requireMfa, client_credentials = clientCredentials,
        }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Body();
        Secrets[name] = body.GetProperty("client_secret").ValueKind == JsonValueKind.String ? body.GetProperty("client_secret").GetString() : null;
        return name;
    }

    public Dictionary<string, string?> Secrets { get; } = [];

    public sealed record Pkce(string Verifier, string Challenge)
    {
        public static Pkce New()
        {
            var verifier = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
            return new(verifier, WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
        }
    }

    public static string AuthorizeUrl(string client, Pkce? pkce, string scope = "openid profile email roles offline_access", string? state = "st-1",
        string? nonce = "n-1", string redirectUri = RedirectUri, params (string Key, string Value)[] extra)
    {
        var query = new Dictionary<string, string?>
        {
            ["client_id"] = client, ["response_type"] = "code", ["redirect_uri"] = redirectUri, ["scope"] = scope, ["state"] = state, ["nonce"] = nonce,
        };
        if (pkce is not null)
        {
            query["code_challenge"] = pkce.Challenge;
            query["code_challenge_method"] = "S256";
        }
        foreach (var (key, value) in extra)
        {
            query[key] = value;
        }
        return QueryHelpers.AddQueryString("/connect/authorize", query.Where(q => q.Value is not null));
    }

    /// <summary>Where the browser ended: back at the application (its query), or on one of our pages (its HTML).</summary>
    public sealed record Landing(HttpStatusCode Status, Uri? Callback, string? Page, string? PagePath)
    {
        public Dictionary<string, string> Query => Callback is null ? [] :
            QueryHelpers.ParseQuery(Callback.Query).ToDictionary(q => q.Key, q => q.Value.ToString());

        /// <summary>
        /// A refusal before the client's redirect URI may be trusted with it: OpenIddict's own 400 page here (RFC 6749 §4.1.2.1
        /// lets the server answer the user instead of redirecting).
        /// </summary>
        public string PageError => Status == HttpStatusCode.BadRequest && Page is { } page
            && System.Text.RegularExpressions.Regex.Match(page, "error:([a-z_]+)") is { Success: true } m ? m.Groups[1].Value
            : throw new Xunit.Sdk.XunitException($"no error page: {(int)Status} {Callback?.ToString() ?? PagePath}");

        /// <summary>The OAuth error sent back to the application; fails, saying where the browser was, when there is none.</summary>
        public string Error => Query.TryGetValue("error", out var error) ? error
            : throw new Xunit.Sdk.XunitException($"no error redirect: {(int)Status} {Callback?.ToString() ?? PagePath} {Page?[..Math.Min(Page.Length, 800)]}");
    }

    /// <summary>Follows redirects on our origin until the browser leaves for the application or stops on a page.</summary>
    public async Task<Landing> FollowAsync(string url, HttpResponseMessage? first = null)
    {
        var response = first ?? await Browser.Client.GetAsync(url);
        for (var hops = 0; hops < 10; hops++)
        {
            if (response.StatusCode is not (HttpStatusCode.Redirect or HttpStatusCode.Found or HttpStatusCode.SeeOther))
            {
                return new(response.StatusCode, null, await response.Content.ReadAsStringAsync(), url);
            }
            var location = response.Headers.Location!;
            var absolute = location.IsAbsoluteUri ? location : new Uri(server.BaseAddress, location);
            if (absolute.Authority != server.BaseAddress.Authority)
            {
                return new(response.StatusCode, absolute, null, null);
            }
            url = absolute.PathAndQuery;
            response = await Browser.Client.GetAsync(url);
        }
        throw new InvalidOperationException("redirect loop");
    }

    /// <summary>On the login page: the password, and the code when the account has TOTP.</summary>
    public async Task<Landing> SignInAsync(Landing login, string username, byte[]? totp = null)
    {
        Assert.NotNull(login.Page);
        Assert.StartsWith("/login", login.PagePath, StringComparison.Ordinal);
        var returnUrl = QueryHelpers.ParseQuery(new Uri(server.BaseAddress, login.PagePath).Query)["ReturnUrl"].ToString();
        var token = BrowserSession.Token(login.Page!)!;
        var response = await Browser.PostFormAsync("/login", token, ("Username", username), ("Password", ForwardAuthSteps.Password), ("ReturnUrl", returnUrl));
        if (totp is not null)
        {
            var html = await response.Content.ReadAsStringAsync();
            var step = StepField().Match(html).Groups[1].Value;
            await ForwardAuthSteps.SettledStepAsync();
            response = await Browser.PostFormAsync("/login?handler=Code", BrowserSession.Token(html)!, ("StepToken", WebUtility.HtmlDecode(step)),
                ("Code", Countersign.Totp.Rfc6238.Code(totp, Countersign.Totp.Rfc6238.StepAt(DateTimeOffset.UtcNow))),
                ("ReturnUrl", returnUrl));
        }
        return await FollowAsync(returnUrl, response);
    }

    /// <summary>Authorization request through to the code, signing in on the way.</summary>
    public async Task<Landing> AuthorizeAsync(string url, string username, byte[]? totp = null)
    {
        var landing = await FollowAsync(url);
        if (landing.PagePath?.StartsWith("/login", StringComparison.Ordinal) == true)
        {
            landing = await SignInAsync(landing, username, totp);
        }
        return landing;
    }

    public async Task<Landing> ConsentAsync(Landing consent, bool accept)
    {
        Assert.StartsWith("/consent", consent.PagePath, StringComparison.Ordinal);
        var form = Hidden().Matches(consent.Page!).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        var response = await Browser.PostFormAsync("/consent?handler=" + (accept ? "Accept" : "Deny"), BrowserSession.Token(consent.Page!)!,
            ("client_id", form["client_id"]), ("scope", form["scope"]), ("ReturnUrl", form["ReturnUrl"]));
        return await FollowAsync("/consent", response);
    }

    public async Task<HttpResponseMessage> TokenAsync(string client, params (string Key, string Value)[] fields)
    {
        var form = fields.ToDictionary(f => f.Key, f => f.Value);
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = new FormUrlEncodedContent(form) };
        Authenticate(request, client, form);
        return await Back.SendAsync(request);
    }

    /// <summary>client_secret_basic for a confidential client (RFC 6749 §2.3.1), client_id in the body for a public one.</summary>
    public void Authenticate(HttpRequestMessage request, string client, Dictionary<string, string>? form = null)
    {
        if (Secrets.GetValueOrDefault(client) is { } secret)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.ASCII.GetBytes(Uri.EscapeDataString(client) + ":" + Uri.EscapeDataString(secret))));
        }
        else if (form is not null)
        {
            form["client_id"] = client;
            request.Content = new FormUrlEncodedContent(form);
        }
    }

    public Task<HttpResponseMessage> ExchangeAsync(string client, string code, Pkce pkce) =>
        TokenAsync(client, ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RedirectUri), ("code_verifier", pkce.Verifier));

    public Task<HttpResponseMessage> RefreshAsync(string client, string refreshToken) =>
        TokenAsync(client, ("grant_type", "refresh_token"), ("refresh_token", refreshToken));

    public async Task<HttpResponseMessage> UserInfoAsync(string accessToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/connect/userinfo") { Headers = { Authorization = new("Bearer", accessToken) } };
        return await Back.SendAsync(request);
    }

    public async Task<JsonElement> PostFormAsync(string path, string client, params (string Key, string Value)[] fields)
    {
        var form = fields.ToDictionary(f => f.Key, f => f.Value);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        Authenticate(request, client, form);
        var response = await Back.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The payload of a JWT, unverified (the tests that need the signature check it with the JWKS).</summary>
    public static JsonElement Claims(string jwt) =>
        JsonDocument.Parse(WebEncoders.Base64UrlDecode(jwt.Split('.')[1])).RootElement.Clone();

    /// <summary>A full sign-in through to tokens, for the suites that start from a signed-in application.</summary>
    public async Task<JsonElement> TokensAsync(string client, string username, byte[]? totp = null, string scope = "openid profile email roles offline_access")
    {
        var pkce = Pkce.New();
        var landing = await AuthorizeAsync(AuthorizeUrl(client, pkce, scope), username, totp);
        Assert.NotNull(landing.Callback);
        var response = await ExchangeAsync(client, landing.Query["code"], pkce);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Body();
    }

    public void Dispose()
    {
        Browser.Dispose();
        Back.Dispose();
    }

    [GeneratedRegex("name=\"StepToken\" value=\"([^\"]+)\"")]
    private static partial Regex StepField();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex Hidden();
}
