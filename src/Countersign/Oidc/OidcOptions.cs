using Microsoft.Extensions.Options;

namespace Countersign.Oidc;

/// <summary>Section <c>Oidc</c>: the OpenID Connect provider (docs/oidc.md).</summary>
public sealed class OidcOptions
{
    public const string Section = "Oidc";

    /// <summary>On by default: with no client registered, every request is refused anyway.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The issuer (<c>https://auth.example.com/</c>), which applications compare with every token's <c>iss</c>. Set it in
    /// production. Unset, each request's own origin is used: fine on one machine, wrong behind a proxy that rewrites the host.
    /// </summary>
    public Uri? Issuer { get; set; }

    /// <summary>Authorization codes live 60 s and are spent once (RFC 9700 §4.5, OAuth 2.1 §4.1.2: "short-lived").</summary>
    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Access and identity tokens: as short as the API's (5 minutes).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A refresh token unused this long expires; each use gives a new one (rolling, sliding).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Refuse front-channel requests that were not pushed first (RFC 9126 §6), for every client; per client: <c>--require-par</c>.</summary>
    public bool RequirePushedAuthorizationRequests { get; set; }
}

internal sealed class OidcOptionsValidator : IValidateOptions<OidcOptions>
{
    public ValidateOptionsResult Validate(string? name, OidcOptions o)
    {
        var errors = new List<string>();
        if (o.Issuer is { } issuer && (!issuer.IsAbsoluteUri || issuer.Scheme is not ("https" or "http") || issuer.Query.Length > 0 || issuer.Fragment.Length > 0))
        {
            errors.Add("Oidc:Issuer must be an absolute https:// URL without query or fragment (http:// only for development).");
        }
        if (o.AuthorizationCodeLifetime <= TimeSpan.Zero || o.AuthorizationCodeLifetime > TimeSpan.FromMinutes(10))
        {
            errors.Add("Oidc:AuthorizationCodeLifetime must be between 0 and 00:10:00 (RFC 6749 §4.1.2 recommends at most 10 minutes).");
        }
        if (o.AccessTokenLifetime <= TimeSpan.Zero || o.AccessTokenLifetime > TimeSpan.FromHours(1))
        {
            errors.Add("Oidc:AccessTokenLifetime must be between 0 and 01:00:00.");
        }
        if (o.RefreshTokenLifetime <= TimeSpan.Zero || o.RefreshTokenLifetime > TimeSpan.FromDays(365))
        {
            errors.Add("Oidc:RefreshTokenLifetime must be between 0 and 365 days.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
