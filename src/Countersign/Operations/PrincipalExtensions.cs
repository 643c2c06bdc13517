using System.Security.Claims;

namespace Countersign.Operations;

/// <summary>The claims every session carries (access token and cookie alike): <c>sub</c> and <c>sid</c>.</summary>
public static class PrincipalExtensions
{
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.Parse(principal.FindFirstValue("sub") ?? throw new InvalidOperationException("No sub claim."));

    public static Guid? SessionId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue("sid"), out var sid) ? sid : null;
}
