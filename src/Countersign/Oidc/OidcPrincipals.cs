using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Countersign.Accounts;
using Countersign.Operations;
using Countersign.Secrets;
using Countersign.Sessions;
using Countersign.SignIn;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Countersign.Oidc;

/// <summary>What the provider's tokens say about a user, built from the cookie session and re-checked on every use.</summary>
public sealed class OidcPrincipals(UserManager<User> users, SessionService sessions, IOpenIddictApplicationManager applications, KeyMaterial keys)
{
    /// <summary>The account's own id, kept only inside codes and refresh tokens (encrypted), never in what applications read.</summary>
    internal const string UserIdClaim = "cs_uid";

    /// <summary>The Countersign session the grant came from (OIDC Front-Channel Logout §3's <c>sid</c>).</summary>
    internal const string SessionIdClaim = "sid";

    /// <summary>RFC 8176 authentication method references for the factors the sign-in core names.</summary>
    private static string? Amr(string factor) => factor switch
    {
        Factors.Password => "pwd",
        Factors.Totp or Factors.RecoveryCode => "otp",
        Factors.Passkey or Factors.DeviceKey => "hwk",
        Factors.Face => "face",
        _ => null,
    };

    /// <summary>A passkey counts as two factors (possession plus the device's user verification, NIST SP 800-63B §5.1.8).</summary>
    public static bool HasSecondFactor(ClaimsPrincipal cookie) =>
        cookie.FindAll("amr").Any(c => c.Value is Factors.Totp or Factors.RecoveryCode or Factors.Passkey or Factors.Face);

    public async Task<ClaimsIdentity?> ForUserAsync(ClaimsPrincipal cookie, object application, IEnumerable<string> scopes, CancellationToken ct)
    {
        if (await users.FindByIdAsync(cookie.UserId().ToString()) is not { IsDisabled: false } user)
        {
            return null;
        }
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        var policy = ClientPolicy.Of(await applications.GetPropertiesAsync(application, ct));
        identity.SetClaim(Claims.Subject, policy.Pairwise ? Pairwise(user.Id, await SectorAsync(application, ct)) : user.Id.ToString());
        identity.SetClaim(UserIdClaim, user.Id.ToString());
        if (cookie.SessionId() is { } sid)
        {
            identity.SetClaim(SessionIdClaim, sid.ToString());
        }
        var factors = cookie.FindAll("amr").Select(c => c.Value).ToList();
        var amr = factors.Select(Amr).OfType<string>().Distinct().ToList();
        if (HasSecondFactor(cookie) && factors.Count > 1)
        {
            amr.Add("mfa");
        }
        identity.SetClaims(Claims.AuthenticationMethodReference, [.. amr]);
        if (cookie.FindFirstValue("auth_time") is { } authTime)
        {
            identity.SetClaim(Claims.AuthenticationTime, long.Parse(authTime, CultureInfo.InvariantCulture));
        }
        identity.SetScopes(scopes);
        await AccountClaimsAsync(identity, user);
        return identity;
    }

    /// <summary>When the cookie's user signed in; null for a cookie older than the <c>auth_time</c> claim (it then counts as stale).</summary>
    public static DateTimeOffset? SignedInAt(ClaimsPrincipal cookie) =>
        long.TryParse(cookie.FindFirstValue("auth_time"), NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? DateTimeOffset.FromUnixTimeSeconds(t) : null;

    /// <summary>
    /// The account as it is now, for a refresh or a userinfo call: null when the account is gone or disabled, or when the
    /// Countersign session the grant came from has ended (logout, revocation), so those end the application's access too.
    /// </summary>
    public async Task<ClaimsIdentity?> RenewAsync(ClaimsPrincipal presented, CancellationToken ct)
    {
        // Codes and refresh tokens carry the account id; access tokens only the session, which names the account.
        Guid? userId = Guid.TryParse(presented.GetClaim(UserIdClaim), out var uid) ? uid : null;
        if (presented.GetClaim(SessionIdClaim) is { } sid)
        {
            if (!Guid.TryParse(sid, out var family) || await sessions.ActiveUserAsync(family, ct) is not { } owner || (userId is { } id && id != owner))
            {
                return null;
            }
            userId = owner;
        }
        if (userId is null || await users.FindByIdAsync(userId.Value.ToString()) is not { IsDisabled: false } user)
        {
            return null;
        }
        var identity = new ClaimsIdentity(presented.Claims.Where(c => c.Type is not (Claims.Name or Claims.PreferredUsername or Claims.Email
            or Claims.EmailVerified or Claims.Role or "roles")), TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        await AccountClaimsAsync(identity, user);
        SetDestinations(identity);
        return identity;
    }

    private async Task AccountClaimsAsync(ClaimsIdentity identity, User user)
    {
        identity.SetClaim(Claims.Name, user.UserName);
        identity.SetClaim(Claims.PreferredUsername, user.UserName);
        if (!string.IsNullOrEmpty(user.Email))
        {
            identity.SetClaim(Claims.Email, user.Email);
            identity.SetClaim(Claims.EmailVerified, user.EmailConfirmed);
        }
        identity.SetClaims("roles", [.. await users.GetRolesAsync(user)]);
    }

    /// <summary>
    /// Which claim goes into which token: the id token carries what the granted scopes allow (OIDC Core §5.4), the access
    /// token what a resource server needs to decide; the account id stays out of both.
    /// </summary>
    public static void SetDestinations(ClaimsIdentity identity)
    {
        var scopes = identity.GetScopes();
        identity.SetDestinations(claim => claim.Type switch
        {
            Claims.Subject or SessionIdClaim => [Destinations.AccessToken, Destinations.IdentityToken],
            Claims.Name or Claims.PreferredUsername when scopes.Contains(Scopes.Profile) => [Destinations.AccessToken, Destinations.IdentityToken],
            Claims.Name => [Destinations.AccessToken],
            Claims.Email or Claims.EmailVerified when scopes.Contains(Scopes.Email) => [Destinations.IdentityToken],
            "roles" when scopes.Contains(Scopes.Roles) => [Destinations.AccessToken, Destinations.IdentityToken],
            Claims.AuthenticationMethodReference or Claims.AuthenticationTime => [Destinations.IdentityToken],
            _ => [],
        });
    }

    /// <summary>The userinfo response (OIDC Core §5.3.2): the subject, and what each granted scope releases.</summary>
    public static Dictionary<string, object> UserInfo(ClaimsIdentity current, IEnumerable<string> granted)
    {
        var scopes = granted.ToHashSet(StringComparer.Ordinal);
        var info = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = current.GetClaim(Claims.Subject)! };
        if (scopes.Contains(Scopes.Profile))
        {
            info[Claims.Name] = current.GetClaim(Claims.Name)!;
            info[Claims.PreferredUsername] = current.GetClaim(Claims.PreferredUsername)!;
        }
        if (scopes.Contains(Scopes.Email) && current.GetClaim(Claims.Email) is { } email)
        {
            info[Claims.Email] = email;
            info[Claims.EmailVerified] = current.GetClaim(Claims.EmailVerified) == "true";
        }
        if (scopes.Contains(Scopes.Roles))
        {
            info["roles"] = current.GetClaims("roles").ToArray();
        }
        return info;
    }

    /// <summary>
    /// OIDC Core §8.1: the sector is the host of the client's redirect URIs, so two clients of one sector see one subject
    /// and clients of different sectors cannot join their users. HMAC-SHA256 under a key derived from the master key,
    /// the construction forward auth uses for its pairwise ids.
    /// </summary>
    public string Pairwise(Guid userId, string sector)
    {
        var input = new byte[16 + Encoding.UTF8.GetByteCount(sector)];
        userId.TryWriteBytes(input.AsSpan(0, 16));
        Encoding.UTF8.GetBytes(sector, input.AsSpan(16));
        return WebEncoders.Base64UrlEncode(HMACSHA256.HashData(keys.OidcSubjectKey, input));
    }

    private async Task<string> SectorAsync(object application, CancellationToken ct)
    {
        var uris = await applications.GetRedirectUrisAsync(application, ct);
        return uris.Select(u => new Uri(u).Host).Order(StringComparer.Ordinal).FirstOrDefault()
            ?? (await applications.GetClientIdAsync(application, ct))!;
    }
}
