using System.Security.Cryptography;
using Countersign.Accounts;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Countersign.Sessions;

/// <summary>Creates the short-lived ES256 access tokens (RFC 7519, RFC 9068-style claims).</summary>
public sealed class AccessTokens(SigningKeys keys, IOptionsMonitor<TokenOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public (string Token, int ExpiresIn) Create(User user, IList<string> roles, Guid sessionId)
    {
        var o = options.CurrentValue;
        var now = time.GetUtcNow();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = o.Issuer,
            Audience = o.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + o.AccessTokenLifetime).UtcDateTime,
            SigningCredentials = keys.Current,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = user.Id.ToString(),
                ["name"] = user.UserName!,
                ["roles"] = roles.ToArray(),
                ["sid"] = sessionId.ToString(),
                [JwtRegisteredClaimNames.Jti] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            },
        };
        return (_handler.CreateToken(descriptor), (int)o.AccessTokenLifetime.TotalSeconds);
    }
}
