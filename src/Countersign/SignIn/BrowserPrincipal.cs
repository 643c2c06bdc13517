using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Countersign.SignIn;

/// <summary>The cookie principal of a browser session: the same claims as an access token.</summary>
public static class BrowserPrincipal
{
    public static ClaimsPrincipal For(SignInOutcome outcome)
    {
        var account = outcome.Account!;
        var claims = new List<Claim>
        {
            new("sub", account.User.Id.ToString()),
            new("name", account.User.UserName!),
            new("sid", outcome.Session!.Id.ToString()),
            // When the user proved who they are: the cookie's own issue time moves with every sliding renewal, this does
            // not (OIDC's auth_time and max_age, Core §2 and §3.1.2.1).
            new("auth_time", outcome.Session.CreatedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer64),
        };
        claims.AddRange(account.Roles.Select(r => new Claim("roles", r)));
        // Which factors proved the user, for step-up checks and OIDC's amr.
        claims.AddRange(outcome.Factors.Select(f => new Claim("amr", f)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme, "name", "roles"));
    }
}
