using System.Security.Claims;
using Countersign.Accounts;
using Countersign.Operations;
using Countersign.Passkeys;
using Countersign.SignIn;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Countersign.ForwardAuth;

public sealed record AddDeviceRequest(string? Username, string? TotpCode, string? Name = null, string? Captcha = null);

public sealed record AddServiceRequest(string? Name, string? Host, string? PathPrefix = null, bool SendsIdentity = false);

/// <summary>The service with its token, shown this once.</summary>
public sealed record CreatedService(string Name, string Host, string PathPrefix, bool SendsIdentity, DateTimeOffset CreatedAt, string Token);

public sealed record ServiceToken(string Token);

public sealed record GrantRequest(string? User, string? Service);

public sealed record DevicePasskey(string? Credential, string? Name = null, string? Rd = null);

/// <summary>
/// Forward auth: devices (<c>/api/devices</c>, <c>/api/me/devices</c>, the passkey ceremony of <c>/devices/add</c>), the
/// two verify endpoints (<c>/verify/{service}</c> for services, <c>/forward-auth</c> for reverse proxies), and the admin
/// API for services, grants and devices.
/// </summary>
public static class ForwardAuthApi
{
    public const string SubjectHeader = "X-Countersign-Subject";
    public const string DeviceHeader = "X-Countersign-Device";
    public const string UserHeader = "X-Countersign-User";
    public const string RolesHeader = "X-Countersign-Roles";

    public static IEndpointRouteBuilder MapForwardAuth(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/devices", AddDevice).WithTags("Devices")
            .ProducesProblems(401, 423, 428, 429)
            .WithSummary("Register this browser as a device with a username and TOTP code; 204 sets the __Secure-cs_device cookie. " +
                "Every failed attempt is the same 401.");
        var me = app.MapGroup("/api/me/devices").WithTags("Devices").RequireAuthorization();
        me.MapGet("", async (ClaimsPrincipal user, DeviceService devices, CancellationToken ct) => TypedResults.Ok(await devices.ForUserAsync(user.UserId(), ct)))
            .WithSummary("Your devices: name, created, last seen (written in batches, so up to a minute behind), user agent.");
        me.MapDelete("/{id:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid id, ClaimsPrincipal user, DeviceService devices, HttpContext http,
                CancellationToken ct) =>
                await devices.RevokeAsync(id, user.UserId(), user.Identity?.Name, ClientInfo.IpOf(http), ct) ? TypedResults.NoContent() : NoSuchDevice())
            .ProducesProblems(404)
            .WithSummary("Revoke one of your devices; every node refuses it within a second.");

        var page = app.MapGroup("/devices/add/passkey").WithTags("Devices");
        page.MapPost("/options", PasskeyOptions).ExcludeFromDescription();
        page.MapPost("", AddDeviceWithPasskey).ExcludeFromDescription();

        // Mapped for the API description (and methods the fast path leaves alone); GET and HEAD are answered by
        // UseForwardAuthFastPath before routing.
        app.MapGet("/verify/{service}", (string service, HttpContext http, Verifier verifier, ForwardAuthCache cache,
                IOptionsMonitor<ForwardAuthOptions> options) => Verify(service, http, verifier, cache, options)).WithTags("Forward auth")
            .WithSummary("For a service holding the user's cookie: Authorization: Bearer <service token>. 200 with X-Countersign-Subject " +
                "(pairwise) and X-Countersign-Device; 404 with an empty body when the cookie or token is not valid; 404 " +
                "\"Service Not Found!\"; 401 \"User does not have access to this service\".");
        app.MapMethods("/forward-auth", [HttpMethods.Get, HttpMethods.Head, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch,
                HttpMethods.Options], (HttpContext http, Verifier verifier, ForwardAuthCache cache, IOptionsMonitor<ForwardAuthOptions> options) =>
                ForwardAuth(http, verifier, cache, options)).WithTags("Forward auth")
            .WithSummary("For nginx auth_request and Caddy forward_auth: the original request in X-Forwarded-Method/-Proto/-Host/-Uri " +
                "(believed from Network:TrustedProxies only). 200 with the identity headers, 401 with Location to /devices/add, 403.");

        var services = app.MapGroup("/api/admin/services").WithTags("Forward auth").RequireAuthorization(Policies.Admin);
        services.MapGet("", async (ServiceAdmin admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)));
        services.MapPost("", AddService).ProducesProblems(409)
            .WithSummary("Add a service at a host and path prefix; the 256-bit token is in this answer only (stored salted and hashed).");
        services.MapDelete("/{name}", async Task<Results<NoContent, ProblemHttpResult>> (string name, ServiceAdmin admin, ClaimsPrincipal user,
                CancellationToken ct) => await admin.RemoveAsync(name, user.Identity?.Name, ct) ? TypedResults.NoContent() : Refused(ServiceError.UnknownService))
            .ProducesProblems(404).WithSummary("Remove a service and its grants.");
        services.MapPost("/{name}/rotate-token", async Task<Results<Ok<ServiceToken>, ProblemHttpResult>> (string name, ServiceAdmin admin,
                ClaimsPrincipal user, CancellationToken ct) =>
                await admin.RotateTokenAsync(name, user.Identity?.Name, ct) is { } token ? TypedResults.Ok(new ServiceToken(token)) : Refused(ServiceError.UnknownService))
            .ProducesProblems(404).WithSummary("A new token for the service; the old one stops working at once.");

        var grants = app.MapGroup("/api/admin/grants").WithTags("Forward auth").RequireAuthorization(Policies.Admin);
        grants.MapGet("", async (ServiceAdmin admin, string? user, string? service, CancellationToken ct) =>
            TypedResults.Ok(await admin.ListGrantsAsync(user, service, ct))).WithSummary("Grants, decrypted for the listing; filter by user or service.");
        grants.MapPost("", async Task<Results<NoContent, ProblemHttpResult>> ([FromBody] GrantRequest body, ServiceAdmin admin, ClaimsPrincipal user,
                CancellationToken ct) =>
            {
                if (string.IsNullOrWhiteSpace(body.User) || string.IsNullOrWhiteSpace(body.Service))
                    return Problems.InvalidRequest("user and service are required.", Problems.Missing(("user", body.User), ("service", body.Service)));
                var error = await admin.GrantAsync(body.User, body.Service, user.Identity?.Name, ct);
                return error == ServiceError.None ? TypedResults.NoContent() : Refused(error);
            })
            .ProducesProblems(404, 409).WithSummary("Let a user use a service (admins reach every service without one).");
        grants.MapDelete("", async Task<Results<NoContent, ProblemHttpResult>> (string? user, string? service, ServiceAdmin admin, ClaimsPrincipal principal,
                CancellationToken ct) =>
            {
                if (string.IsNullOrWhiteSpace(user) || string.IsNullOrWhiteSpace(service))
                    return Problems.InvalidRequest("user and service are required.", Problems.Missing(("user", user), ("service", service)));
                var error = await admin.RevokeGrantAsync(user, service, principal.Identity?.Name, ct);
                return error == ServiceError.None ? TypedResults.NoContent() : Refused(error);
            })
            .ProducesProblems(404).WithSummary("Remove a grant (?user=&service=); every node refuses within a second.");

        var devices = app.MapGroup("/api/admin/devices").WithTags("Devices").RequireAuthorization(Policies.Admin);
        devices.MapGet("", async (DeviceService service, string? user, CancellationToken ct) => TypedResults.Ok(await service.ListAsync(user, ct)));
        devices.MapDelete("/{id:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid id, DeviceService service, ClaimsPrincipal user,
                HttpContext http, CancellationToken ct) =>
                await service.RevokeAsync(id, null, user.Identity?.Name, ClientInfo.IpOf(http), ct) ? TypedResults.NoContent() : NoSuchDevice())
            .ProducesProblems(404);
        return app;
    }

    /// <summary>
    /// The two verify endpoints answered straight after the client address is decided, ahead of the rest of the
    /// pipeline (routing, static files, the authentication schemes, anti-forgery, problem details, the security headers
    /// of pages): none of it applies to a proxy's or a service's question, and on two cores it cost about as much as the
    /// verify itself (docs/benchmarks.md). The answers are written straight to the response, not through an
    /// <see cref="IResult"/>, whose execution resolves a logger from the request's services and so opens a DI scope per
    /// request. The endpoints stay mapped too, for the API description.
    /// </summary>
    public static WebApplication UseForwardAuthFastPath(this WebApplication app)
    {
        // Singletons, resolved once from the root: resolving per request would also open a request scope for nothing.
        // Lazily, at the first verify: resolving them while the pipeline is built would throw on a bad option before
        // StartupTasks reports every bad option at once.
        var services = new Lazy<(Verifier Verifier, ForwardAuthCache Cache, IOptionsMonitor<ForwardAuthOptions> Options)>(() => (
            app.Services.GetRequiredService<Verifier>(), app.Services.GetRequiredService<ForwardAuthCache>(),
            app.Services.GetRequiredService<IOptionsMonitor<ForwardAuthOptions>>()));
        app.Use((http, next) =>
        {
            var path = http.Request.Path.Value ?? "";
            if (path == "/forward-auth")
            {
                var (verifier, cache, options) = services.Value;
                return ForwardAuth(http, verifier, cache, options);
            }
            if (path.StartsWith("/verify/", StringComparison.Ordinal) && path.Length > "/verify/".Length && path.IndexOf('/', "/verify/".Length) < 0
                && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)))
            {
                var (verifier, cache, options) = services.Value;
                return Verify(path["/verify/".Length..], http, verifier, cache, options);
            }
            return next(http);
        });
        return app;
    }

    /// <summary>Unknown user, no TOTP, wrong or replayed code, disabled account: one answer, one body (the seed's rule).</summary>
    internal static ProblemHttpResult Refusal(SignInOutcome outcome, HttpContext http) =>
        outcome.Status is SignInStatus.InvalidCredentials or SignInStatus.InvalidMfaCode or SignInStatus.MfaRequired
            ? Problems.InvalidCredentials()
            : SignInProblems.For(outcome, http);

    private static async Task<Results<NoContent, ProblemHttpResult>> AddDevice([FromBody] AddDeviceRequest body, DeviceService devices,
        IOptionsSnapshot<ForwardAuthOptions> options, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.Username) || string.IsNullOrEmpty(body.TotpCode))
        {
            return Problems.InvalidRequest("username and totp_code are required.", Problems.Missing(("username", body.Username), ("totp_code", body.TotpCode)));
        }
        var added = await devices.AddWithCodeAsync(body.Username, body.TotpCode, body.Name, body.Captcha, ClientInfo.From(http), ct);
        if (added.Cookie is null)
        {
            return Refusal(added.Outcome, http);
        }
        DeviceCookies.Issue(http.Response, added.Cookie, options.Value);
        return TypedResults.NoContent();
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> PasskeyOptions(HttpContext http, IAntiforgery antiforgery, SignInManager<User> signIn)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "Reload the page and try again.");
        }
        // No user named: a discoverable credential picks the account, so the options say nothing about who exists.
        return TypedResults.Content(await signIn.MakePasskeyRequestOptionsAsync(null), "application/json");
    }

    private static async Task<Results<Ok<SignedIn>, ProblemHttpResult>> AddDeviceWithPasskey([FromBody] DevicePasskey body, HttpContext http,
        IAntiforgery antiforgery, SignInManager<User> signIn, DeviceService devices, Redirects redirects, IOptionsSnapshot<ForwardAuthOptions> options,
        CancellationToken ct)
    {
        if (!await antiforgery.IsRequestValidAsync(http) || string.IsNullOrEmpty(body.Credential))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "Reload the page and try again.");
        }
        if (await signIn.TryPasskeyAssertionAsync(body.Credential) is not { Succeeded: true } assertion)
        {
            return Problems.InvalidCredentials();
        }
        var added = await devices.AddWithPasskeyAsync(assertion.User.Id, body.Name, ClientInfo.From(http), ct);
        if (added.Cookie is null)
        {
            return Refusal(added.Outcome, http);
        }
        DeviceCookies.Issue(http.Response, added.Cookie, options.Value);
        return TypedResults.Ok(new SignedIn(await redirects.AfterSignInAsync(body.Rd)));
    }

    /// <summary>
    /// The status, and the body the proxies and the seed's clients expect (or none), not problem details. Identity
    /// headers must never be kept by a cache between the proxy and the browser: no-store on every answer.
    /// </summary>
    private static Task Answer(HttpContext http, int status, string? text = null)
    {
        if (http.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }
        var response = http.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        if (text is null)
        {
            response.ContentLength = 0;
            return Task.CompletedTask;
        }
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text);
    }

    private static async Task Verify(string service, HttpContext http, Verifier verifier, ForwardAuthCache cache,
        IOptionsMonitor<ForwardAuthOptions> options)
    {
        // Shapes first: a malformed cookie or token is refused before any lookup or HMAC.
        var cookie = http.Request.Cookies[ForwardAuthOptions.CookieName];
        if (!DeviceCookie.TryParse(cookie, out _, out _) || BearerToken(http) is not { } token)
        {
            await Unauthenticated(http);
            return;
        }
        var directory = await cache.ServicesAsync();
        var named = directory.Named(service);
        // The token must be the named service's. When no service has that name, a caller whose token is some other
        // service's may still learn that (404 "Service Not Found!"), but never anyone else's subject.
        var caller = named is not null
            ? (Verifier.TokenMatches(named, token) ? named : null)
            : directory.All.FirstOrDefault(s => Verifier.TokenMatches(s, token));
        if (caller is null || await verifier.DeviceAsync(cookie) is not { } found)
        {
            await Unauthenticated(http);
            return;
        }
        RenewCookie(http, found.RenewCookie, cookie!, options);
        if (named is null)
        {
            await Answer(http, StatusCodes.Status404NotFound, "Service Not Found!");
            return;
        }
        var result = await verifier.AuthorizeAsync(found.Device, found.Account, named);
        if (result.Status != VerifyStatus.Granted)
        {
            await Answer(http, StatusCodes.Status401Unauthorized, "User does not have access to this service");
            return;
        }
        IdentityHeaders(http.Response, result);
        await Answer(http, StatusCodes.Status200OK);
    }

    /// <summary>
    /// nginx's <c>auth_request</c> turns any status but 2xx, 401 and 403 into a 500, so this endpoint answers only those.
    /// The original request is read from the X-Forwarded-* headers only when the TCP peer is a trusted proxy
    /// (oauth2-proxy GHSA-7x63-xv5r-3p2x); from anyone else they are ignored and the request is judged as it came.
    /// </summary>
    private static async Task ForwardAuth(HttpContext http, Verifier verifier, ForwardAuthCache cache, IOptionsMonitor<ForwardAuthOptions> options)
    {
        var request = http.Request;
        string? proto = null, host = null, uri = null;
        if (ClientAddressSetup.FromTrustedProxy(http))
        {
            proto = First(request.Headers["X-Forwarded-Proto"]);
            host = First(request.Headers["X-Forwarded-Host"]);
            uri = First(request.Headers["X-Forwarded-Uri"]);
        }
        proto ??= request.Scheme;
        host ??= request.Host.Value ?? "";
        uri ??= request.Path + request.QueryString;
        host = host.ToLowerInvariant();
        var directory = await cache.ServicesAsync();
        if (PathRules.Normalize(uri) is not { } path || directory.At(host, path) is not { } service)
        {
            // Nothing is configured there: refuse rather than guess (fail closed).
            await Answer(http, StatusCodes.Status403Forbidden);
            return;
        }
        var cookie = request.Cookies[ForwardAuthOptions.CookieName];
        if (await verifier.DeviceAsync(cookie) is not { } found)
        {
            var original = PathRules.OriginalUrl(proto is "https" or "http" ? proto : "https", host, uri);
            http.Response.Headers.Location = (options.CurrentValue.PublicOrigin?.TrimEnd('/') ?? "") + "/devices/add?rd=" + Uri.EscapeDataString(original);
            await Answer(http, StatusCodes.Status401Unauthorized);
            return;
        }
        RenewCookie(http, found.RenewCookie, cookie!, options);
        var result = await verifier.AuthorizeAsync(found.Device, found.Account, service);
        if (result.Status != VerifyStatus.Granted)
        {
            await Answer(http, StatusCodes.Status403Forbidden);
            return;
        }
        IdentityHeaders(http.Response, result);
        await Answer(http, StatusCodes.Status200OK);
    }

    /// <summary>
    /// The device cookie again, with a fresh Max-Age, when the sliding expiry has moved on (<see cref="Verifier.CookieRenewalDue"/>).
    /// On every answer for a valid device, 403 and 401 "no access" too: the shipped nginx configuration passes it to the
    /// browser with the answer, and Countersign.Client passes it on from the service.
    /// </summary>
    private static void RenewCookie(HttpContext http, bool due, string cookie, IOptionsMonitor<ForwardAuthOptions> options)
    {
        if (due)
        {
            DeviceCookies.Issue(http.Response, cookie, options.CurrentValue);
        }
    }

    /// <summary>The first of a header's comma-separated values, trimmed; null when there is none.</summary>
    private static string? First(Microsoft.Extensions.Primitives.StringValues values)
    {
        if (values.Count == 0 || values[0] is not { Length: > 0 } value)
        {
            return null;
        }
        var comma = value.IndexOf(',', StringComparison.Ordinal);
        return (comma < 0 ? value : value[..comma]).Trim();
    }

    private static void IdentityHeaders(HttpResponse response, VerifyResult result)
    {
        response.Headers[SubjectHeader] = result.Subject;
        response.Headers[DeviceHeader] = result.DeviceId.ToString("N");
        if (result.Service!.SendsIdentity)
        {
            // Percent-encoded: a header value is ASCII, a username need not be.
            response.Headers[UserHeader] = Uri.EscapeDataString(result.Account!.UserName);
            response.Headers[RolesHeader] = string.Join(',', result.Account.Roles.Order(StringComparer.Ordinal).Select(Uri.EscapeDataString));
        }
    }

    /// <summary>404 with nothing in it: to a caller without a valid cookie and token, users and services do not exist.</summary>
    private static Task Unauthenticated(HttpContext http) => Answer(http, StatusCodes.Status404NotFound);

    private static byte[]? BearerToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || header.Length != "Bearer ".Length + 43)
        {
            return null;
        }
        try
        {
            return WebEncoders.Base64UrlDecode(header, "Bearer ".Length, 43) is { Length: 32 } token ? token : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    internal static ProblemHttpResult Refused(ServiceError error) => error switch
    {
        ServiceError.UnknownService or ServiceError.UnknownUser or ServiceError.NoSuchGrant =>
            Problems.Of(StatusCodes.Status404NotFound, ErrorCodes.NotFound, ServiceAdmin.Describe(error)),
        ServiceError.NameTaken or ServiceError.PlaceTaken => Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.ServiceExists, ServiceAdmin.Describe(error)),
        ServiceError.AlreadyGranted => Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.AlreadyGranted, ServiceAdmin.Describe(error)),
        _ => Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidService, ServiceAdmin.Describe(error)),
    };

    private static ProblemHttpResult NoSuchDevice() => Problems.Of(StatusCodes.Status404NotFound, ErrorCodes.NotFound, "No such device of yours.");

    private static async Task<Results<Created<CreatedService>, ProblemHttpResult>> AddService([FromBody] AddServiceRequest body, ServiceAdmin admin,
        ClaimsPrincipal user, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Name) || string.IsNullOrWhiteSpace(body.Host))
        {
            return Problems.InvalidRequest("name and host are required.", Problems.Missing(("name", body.Name), ("host", body.Host)));
        }
        var (service, token, error) = await admin.AddAsync(body.Name, body.Host, body.PathPrefix, body.SendsIdentity, user.Identity?.Name, ct);
        return error != ServiceError.None
            ? Refused(error)
            : TypedResults.Created($"/api/admin/services/{service!.Name}",
                new CreatedService(service.Name, service.Host, service.PathPrefix, service.SendsIdentity, service.CreatedAt, token!));
    }
}

/// <summary>Where a browser goes after registering a device: the <c>rd</c> it came with when that is safe, else the account page.</summary>
public sealed class Redirects(ForwardAuthCache cache, IOptionsMonitor<ForwardAuthOptions> options)
{
    public const string Fallback = "/account";

    public async Task<string> AfterSignInAsync(string? rd)
    {
        var directory = await cache.ServicesAsync();
        return PathRules.SafeRedirect(rd, directory.HasHost, options.CurrentValue.AllowHttpRedirects) ?? Fallback;
    }
}
