using System.Security.Claims;
using Countersign.Operations;
using Countersign.Sessions;

namespace Countersign.Tests.Unit;

public sealed class HubPrincipalTests
{
    [Fact]
    public void A_hub_connection_keeps_only_the_claims_the_hub_reads()
    {
        var user = Guid.NewGuid();
        var session = Guid.NewGuid();
        var validated = new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim("iss", "countersign"), new Claim("aud", "countersign"), new Claim("iat", "1", ClaimValueTypes.Integer64),
            new Claim("nbf", "1", ClaimValueTypes.Integer64), new Claim("exp", "2", ClaimValueTypes.Integer64),
            new Claim("sub", user.ToString()), new Claim("name", "alice"), new Claim("roles", "advisor"), new Claim("roles", "client"),
            new Claim("sid", session.ToString()), new Claim("jti", "abc"),
        ], "AuthenticationTypes.Federation", "name", "roles"));

        var kept = HubPrincipal.From(validated);

        Assert.Equal(["sub", "name", "roles", "roles", "sid"], kept.Claims.Select(c => c.Type));
        Assert.Equal(user, kept.UserId());
        Assert.Equal(session, kept.SessionId());
        Assert.Equal("alice", kept.Identity?.Name);
        Assert.True(kept.Identity?.IsAuthenticated);
        Assert.True(kept.IsInRole("advisor") && kept.IsInRole("client"));
    }
}
