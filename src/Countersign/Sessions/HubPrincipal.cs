using System.Security.Claims;

namespace Countersign.Sessions;

/// <summary>
/// The principal a bearer-authenticated hub connection keeps for its whole life: only the claims the hub reads
/// (<c>sub</c>, <c>sid</c>, <c>name</c>, <c>roles</c>). The validated token's own principal also holds the parsed
/// <c>JsonWebToken</c> and a claim for every registered claim, each with its issuer, on every connection for as long
/// as it stays open (issue 17: memory per hub connection). The token's lifetime still ends the connection: it travels
/// in the authentication properties (<c>ExpiresUtc</c>), which CloseOnAuthenticationExpiration reads, not in the claims.
/// </summary>
internal static class HubPrincipal
{
    private static readonly string[] Kept = ["sub", "sid", "name", "roles"];

    public static ClaimsPrincipal From(ClaimsPrincipal validated)
    {
        var identity = new ClaimsIdentity(validated.Identity?.AuthenticationType, "name", "roles");
        foreach (var claim in validated.Claims)
        {
            if (Array.IndexOf(Kept, claim.Type) >= 0)
            {
                identity.AddClaim(new Claim(claim.Type, claim.Value, claim.ValueType, claim.Issuer));
            }
        }
        return new ClaimsPrincipal(identity);
    }
}
