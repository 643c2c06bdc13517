using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Countersign.Client;

/// <summary>
/// Authenticates a request by its <c>__Secure-cs_device</c> cookie, asking Countersign <c>GET /verify/{service}</c> with
/// this service's token (the seed's client SDKs). 200 is a principal with the pairwise subject, the device and, for a
/// service that receives them, the name and roles; 404 is no result (no or bad cookie, or a wrong service token: the
/// server does not say which); 401 is "no grant", answered 403 by the challenge; anything else, or no answer, fails
/// closed with a warning in the log.
/// </summary>
public sealed partial class CountersignAuthenticationHandler(IOptionsMonitor<CountersignAuthenticationOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, IHttpClientFactory clients, VerifyCache cache) : AuthenticationHandler<CountersignAuthenticationOptions>(options, logger, encoder)
{
    /// <summary>Set on the request when Countersign said "no grant", so the challenge answers 403 rather than 401.</summary>
    private static readonly object NoGrantKey = new();

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    // The bodies /verify sends with its two non-empty answers; longer bodies are not read.
    private const int MaxBody = 256;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var cookie = Request.Cookies[CountersignDefaults.CookieName];
        if (cookie is null)
        {
            return AuthenticateResult.NoResult();
        }
        // Only the shape Countersign issues is sent on: a junk cookie costs this service no round trip, and nothing
        // a client wrote can reach the request line or another header.
        if (!IsWellFormed(cookie))
        {
            return AuthenticateResult.NoResult();
        }
        var key = VerifyCache.Key(Scheme.Name, cookie);
        if (Options.CacheDuration > TimeSpan.Zero && cache.TryGet(key, out var cached))
        {
            return Success(cached);
        }

        VerifiedDevice? verified;
        try
        {
            verified = await VerifyAsync(cookie);
        }
        catch (OperationCanceledException) when (Context.RequestAborted.IsCancellationRequested)
        {
            return AuthenticateResult.Fail("The request was aborted.");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            // Fail closed: no answer is no principal (ASVS 4.0 V1.4.2's "fail securely").
            Unreachable(Logger, Options.ServerUrl, e);
            return AuthenticateResult.Fail("Countersign could not be reached.");
        }
        if (verified is null)
        {
            return Context.Items.ContainsKey(NoGrantKey) ? AuthenticateResult.Fail("No grant for this service.") : AuthenticateResult.NoResult();
        }
        if (Options.CacheDuration > TimeSpan.Zero)
        {
            cache.Set(key, verified, Options.CacheDuration);
        }
        return Success(verified);
    }

    private async Task<VerifiedDevice?> VerifyAsync(string cookie)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Context.RequestAborted);
        timeout.CancelAfter(Options.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, VerifyUrl());
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.ServiceToken);
        request.Headers.TryAddWithoutValidation(HeaderNames.Cookie, CountersignDefaults.CookieName + "=" + cookie);
        var client = clients.CreateClient(CountersignDefaults.HttpClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                return Granted(response);
            case HttpStatusCode.NotFound:
                if (await BodyAsync(response, timeout.Token) is { Length: > 0 })
                {
                    // "Service Not Found!": the device is good, the name is not Countersign's. A configuration error,
                    // not the visitor's.
                    ServiceUnknown(Logger, Options.Service);
                }
                // Empty: no valid device, or a wrong service token; Countersign does not say which, to anyone.
                return null;
            case HttpStatusCode.Unauthorized:
                PassOnRenewal(response);
                Context.Items[NoGrantKey] = true;
                return null;
            default:
                UnexpectedAnswer(Logger, (int)response.StatusCode);
                return null;
        }
    }

    private VerifiedDevice? Granted(HttpResponseMessage response)
    {
        var subject = Single(response, CountersignDefaults.SubjectHeader);
        var device = Single(response, CountersignDefaults.DeviceHeader);
        if (string.IsNullOrEmpty(subject) || string.IsNullOrEmpty(device))
        {
            UnexpectedAnswer(Logger, 200);
            return null;
        }
        var user = Single(response, CountersignDefaults.UserHeader) is { Length: > 0 } name ? Uri.UnescapeDataString(name) : null;
        var roles = Single(response, CountersignDefaults.RolesHeader) is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Uri.UnescapeDataString).ToArray()
            : [];
        PassOnRenewal(response);
        return new VerifiedDevice(subject, device, user, roles);
    }

    /// <summary>
    /// Countersign issues the device cookie again as its sliding expiry moves on (a fresh Max-Age); the browser sent the
    /// cookie here, not to Countersign, so the renewal is passed on, or the browser would drop the cookie while the
    /// server still honours it. Only that cookie: nothing else Countersign might set reaches this service's visitors.
    /// </summary>
    private void PassOnRenewal(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues(HeaderNames.SetCookie, out var setCookies))
        {
            foreach (var setCookie in setCookies)
            {
                if (setCookie.StartsWith(CountersignDefaults.CookieName + "=", StringComparison.Ordinal))
                {
                    Response.Headers.Append(HeaderNames.SetCookie, setCookie);
                }
            }
        }
    }

    private static string? Single(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) && values.ToArray() is [var one] ? one : null;

    private static async Task<string> BodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.Content.Headers.ContentLength is > MaxBody)
        {
            return "(long)";
        }
        var body = await response.Content.ReadAsStringAsync(ct);
        return body.Length > MaxBody ? "(long)" : body;
    }

    private Uri VerifyUrl() => new(Options.ServerUrl!.AbsoluteUri.TrimEnd('/') + "/verify/" + Uri.EscapeDataString(Options.Service));

    private AuthenticateResult Success(VerifiedDevice verified)
    {
        var identity = new ClaimsIdentity(Scheme.Name, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(CountersignClaimTypes.Subject, verified.Subject));
        identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, verified.Subject));
        identity.AddClaim(new Claim(CountersignClaimTypes.Device, verified.Device));
        if (verified.User is not null)
        {
            identity.AddClaim(new Claim(ClaimTypes.Name, verified.User));
        }
        foreach (var role in verified.Roles)
        {
            identity.AddClaim(new Claim(ClaimTypes.Role, role));
        }
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    /// <summary>
    /// "No grant" is 403: the visitor is known, and registering another device would not help. Otherwise a browser is
    /// sent to <see cref="CountersignAuthenticationOptions.SignInUrl"/> when set, and anything else gets a bare 401.
    /// </summary>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(NoGrantKey))
        {
            Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        }
        if (Options.SignInUrl is { } signIn && (HttpMethods.IsGet(Request.Method) || HttpMethods.IsHead(Request.Method)))
        {
            var here = Request.Scheme + "://" + Request.Host + Request.PathBase + Request.Path + Request.QueryString;
            var separator = signIn.Query.Length > 0 ? "&" : "?";
            Response.Redirect(signIn.AbsoluteUri + separator + "rd=" + Uri.EscapeDataString(here));
            return Task.CompletedTask;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    /// <summary>The shape Countersign issues: 32 hex digits, a dot, 43 base64url characters.</summary>
    internal static bool IsWellFormed(string cookie) =>
        cookie.Length == 76 && cookie[32] == '.'
        && cookie.AsSpan(0, 32).IndexOfAnyExcept(LowerHex) < 0
        && ServiceTokens.IsWellFormed(cookie[33..]);

    [LoggerMessage(EventId = 4300, Level = LogLevel.Warning, Message = "Countersign at {Server} could not be reached; the request is not authenticated.")]
    private static partial void Unreachable(ILogger logger, Uri? server, Exception exception);

    [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Countersign does not know the service {Service}: check the Service option.")]
    private static partial void ServiceUnknown(ILogger logger, string service);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "Countersign answered /verify with an unexpected {Status}; the request is not authenticated.")]
    private static partial void UnexpectedAnswer(ILogger logger, int status);
}
