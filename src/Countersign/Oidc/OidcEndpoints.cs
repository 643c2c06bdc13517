using System.Collections.Immutable;
using System.Globalization;
using System.Security.Claims;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.SignIn;
using Countersign.Storage;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Countersign.Oidc;

/// <summary>
/// The policy half of the provider. OpenIddict parses and validates every request (client, redirect URI, PKCE, PAR,
/// codes, refresh tokens) before these handlers run ("passthrough"); they decide who is signed in, whether consent is
/// needed, and what the tokens say. Sign-in itself is the <c>/login</c> page and its cookie: nothing re-implemented.
/// </summary>
public static class OidcEndpoints
{
    /// <summary>Added to the authorize URL when a fresh sign-in is demanded: a cookie issued at or after it is fresh enough.</summary>
    internal const string LoginAfter = "cs_login_after";

    /// <summary>Added by the consent page when the user declines.</summary>
    internal const string ConsentDenied = "cs_consent";

    public static IEndpointRouteBuilder MapOidc(this IEndpointRouteBuilder app)
    {
        var connect = app.MapGroup("/connect").WithTags("OpenID Connect").ExcludeFromDescription();
        connect.MapMethods("/authorize", [HttpMethods.Get, HttpMethods.Post], AuthorizeAsync).DisableAntiforgery();
        connect.MapPost("/token", TokenAsync).DisableAntiforgery();
        connect.MapMethods("/userinfo", [HttpMethods.Get, HttpMethods.Post], UserInfoAsync).DisableAntiforgery();
        connect.MapMethods("/logout", [HttpMethods.Get, HttpMethods.Post], EndSessionAsync).DisableAntiforgery();
        app.MapOidcClients();
        return app;
    }

    private static OpenIddictRequest Request(HttpContext http) =>
        http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("OpenIddict did not handle this request.");

    private static IResult Refuse(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);

    private static async Task<IResult> AuthorizeAsync(HttpContext http, IOpenIddictApplicationManager applications,
        IOpenIddictAuthorizationManager authorizations, OidcPrincipals principals, TimeProvider time, CancellationToken ct)
    {
        var request = Request(http);
        var application = await applications.FindByClientIdAsync(request.ClientId!, ct)
            ?? throw new InvalidOperationException("OpenIddict let an unknown client through.");
        var policy = ClientPolicy.Of(await applications.GetPropertiesAsync(application, ct));

        if (http.Request.Query[ConsentDenied] == "denied")
        {
            return Refuse(Errors.AccessDenied, "The user declined.");
        }

        var cookie = await http.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        var issued = cookie.Principal is { } signedIn ? OidcPrincipals.SignedInAt(signedIn) : null;
        var loginAfter = long.TryParse(http.Request.Query[LoginAfter], NumberStyles.None, CultureInfo.InvariantCulture, out var after)
            ? DateTimeOffset.FromUnixTimeSeconds(after)
            : (DateTimeOffset?)null;
        // OIDC Core §3.1.2.1: prompt=login and max_age demand a sign-in of their own; so do acr_values here, and a client that
        // requires a second factor when this session had none.
        var tooOld = request.MaxAge is { } maxAge && (issued is not { } at || time.GetUtcNow() - at > TimeSpan.FromSeconds(maxAge));
        var needsSecondFactor = policy.RequireMfa && cookie.Principal is { } p && !OidcPrincipals.HasSecondFactor(p);
        var signedInAgain = loginAfter is { } bound && issued >= bound;
        var demandsFresh = request.HasPromptValue(PromptValues.Login) || !string.IsNullOrEmpty(request.AcrValues) || tooOld || needsSecondFactor;
        if (!cookie.Succeeded || (demandsFresh && !(signedInAgain && !tooOld && !needsSecondFactor)))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Refuse(Errors.LoginRequired, "The user is not signed in.");
            }
            if (signedInAgain && needsSecondFactor)
            {
                // Signed in again just now, and the account still has no second factor to give.
                return Refuse(Errors.AccessDenied, "This application requires a second factor. Set up an authenticator app or a passkey on your account page.");
            }
            // Back here after /login, with the time the fresh sign-in must beat; the login page only follows local URLs.
            var query = http.Request.HasFormContentType ? http.Request.Form.AsEnumerable() : http.Request.Query.AsEnumerable();
            var parameters = query.Where(q => q.Key != LoginAfter).ToList();
            parameters.Add(new(LoginAfter, time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)));
            return Results.Challenge(new AuthenticationProperties { RedirectUri = http.Request.PathBase + http.Request.Path + QueryString.Create(parameters) },
                [CookieAuthenticationDefaults.AuthenticationScheme]);
        }

        var user = cookie.Principal!;
        var userId = user.UserId().ToString();
        var clientId = (await applications.GetIdAsync(application, ct))!;
        var scopes = request.GetScopes();
        var consented = await authorizations.FindAsync(userId, clientId, Statuses.Valid, AuthorizationTypes.Permanent, scopes, ct).FirstOrDefaultAsync(ct);
        var consentType = await applications.GetConsentTypeAsync(application, ct);
        if (consentType != ConsentTypes.Implicit && (consented is null || request.HasPromptValue(PromptValues.Consent)))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Refuse(Errors.ConsentRequired, "The user has not consented to this application yet.");
            }
            var back = http.Request.PathBase + http.Request.Path + QueryString.Create(
                (http.Request.HasFormContentType ? http.Request.Form.AsEnumerable() : http.Request.Query.AsEnumerable())
                    .Where(q => q.Key != Parameters.Prompt || !request.HasPromptValue(PromptValues.Consent)));
            return Results.Redirect("/consent" + QueryString.Create(new Dictionary<string, string?>
            {
                ["client_id"] = request.ClientId, ["scope"] = string.Join(' ', scopes), ["returnUrl"] = back.ToString(),
            }));
        }

        var identity = await principals.ForUserAsync(user, application, scopes, ct);
        if (identity is null)
        {
            return Refuse(Errors.AccessDenied, "The account is not available.");
        }
        // A first-party client's consent is implied, but its authorization is kept too: it is what the tokens hang from.
        consented ??= await authorizations.CreateAsync(identity, userId, clientId, AuthorizationTypes.Permanent, [.. scopes], ct);
        identity.SetAuthorizationId(await authorizations.GetIdAsync(consented, ct));
        OidcPrincipals.SetDestinations(identity);
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static async Task<IResult> TokenAsync(HttpContext http, IOpenIddictApplicationManager applications, OidcPrincipals principals,
        CountersignDb db, AuditLog audit, CancellationToken ct)
    {
        var request = Request(http);
        if (request.IsClientCredentialsGrantType())
        {
            var application = await applications.FindByClientIdAsync(request.ClientId!, ct)
                ?? throw new InvalidOperationException("OpenIddict let an unknown client through.");
            var machine = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
            machine.SetClaim(Claims.Subject, request.ClientId);
            machine.SetClaim(Claims.Name, await applications.GetDisplayNameAsync(application, ct));
            machine.SetScopes(request.GetScopes());
            OidcPrincipals.SetDestinations(machine);
            return Results.SignIn(new ClaimsPrincipal(machine), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }
        if (!request.IsAuthorizationCodeGrantType() && !request.IsRefreshTokenGrantType())
        {
            return Refuse(Errors.UnsupportedGrantType, "This grant type is not supported.");
        }
        // The code or refresh token, already validated by OpenIddict (signature, lifetime, single use, PKCE).
        var presented = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal
            ?? throw new InvalidOperationException("OpenIddict validated no grant.");
        // Re-read the account: a disabled user, an ended session or a removed role stops here, not at the token's expiry.
        if (await principals.RenewAsync(presented, ct) is not { } renewed)
        {
            return Refuse(Errors.InvalidGrant, "The sign-in behind this grant has ended.");
        }
        if (request.IsAuthorizationCodeGrantType())
        {
            await audit.RecordAloneAsync(db, new(AuditActions.OidcSignIn, Guid.TryParse(renewed.GetClaim(OidcPrincipals.UserIdClaim), out var uid) ? uid : null,
                renewed.GetClaim(Claims.PreferredUsername), ClientInfo.IpOf(http), AuditDetail.Of(new { client = request.ClientId })), ct);
        }
        return Results.SignIn(new ClaimsPrincipal(renewed), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static async Task<IResult> UserInfoAsync(HttpContext http, OidcPrincipals principals, CancellationToken ct)
    {
        var token = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        if (token is null || await principals.RenewAsync(token, ct) is not { } current)
        {
            return Results.Challenge(new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.InvalidToken,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The access token is no longer valid.",
            }), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }
        return Results.Ok(OidcPrincipals.UserInfo(current, token.GetScopes()));
    }

    /// <summary>
    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). It ends the Countersign session family, not only the
    /// cookie, so the application's refresh tokens stop working too. Without an <c>id_token_hint</c> any page could send a
    /// user here, so the user is asked first (§2: "the OP SHOULD ask the End-User").
    /// </summary>
    private static async Task<IResult> EndSessionAsync(HttpContext http, SessionService sessions, IAntiforgery antiforgery, CountersignDb db,
        AuditLog audit, CancellationToken ct)
    {
        var request = Request(http);
        var confirmed = HttpMethods.IsPost(http.Request.Method) && await antiforgery.IsRequestValidAsync(http);
        if (string.IsNullOrEmpty(request.IdTokenHint) && !confirmed)
        {
            return Results.Redirect("/connect/logout/confirm" + http.Request.QueryString);
        }
        var cookie = await http.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        if (cookie.Principal?.SessionId() is { } sid)
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await sessions.RevokeFamilyAsync(sid, "oidc_logout", ct);
            audit.Add(db, new(AuditActions.OidcLogout, cookie.Principal.UserId(), cookie.Principal.Identity?.Name, ClientInfo.IpOf(http),
                AuditDetail.Of(new { client = request.ClientId })));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        // To the client's registered post_logout_redirect_uri when it sent one (OpenIddict checked it), else our page.
        return Results.SignOut(new AuthenticationProperties { RedirectUri = "/login" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }
}
