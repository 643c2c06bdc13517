using Microsoft.Extensions.Options;

namespace Countersign.Sessions;

/// <summary>Section <c>Tokens</c>.</summary>
public sealed class TokenOptions
{
    public const string Section = "Tokens";

    public string Issuer { get; set; } = "http://localhost:5080";
    public string Audience { get; set; } = "countersign";
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>A refresh token unused this long stops working.</summary>
    public TimeSpan RefreshIdleLifetime { get; set; } = TimeSpan.FromDays(7);
    /// <summary>No session outlives this, however active (ASVS 7.3.2).</summary>
    public TimeSpan RefreshAbsoluteLifetime { get; set; } = TimeSpan.FromDays(30);
    /// <summary>Browser cookie sessions end after this long without a request.</summary>
    public TimeSpan BrowserIdleLifetime { get; set; } = TimeSpan.FromHours(8);
    /// <summary>
    /// Drop the <c>__Host-</c> prefix and the Secure flag from the session cookie, for plain-HTTP
    /// development on a host other than localhost. Never in production.
    /// </summary>
    public bool InsecureDevCookies { get; set; }
}

internal sealed class TokenOptionsValidator : IValidateOptions<TokenOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Issuer)) errors.Add("Tokens:Issuer is required.");
        if (string.IsNullOrWhiteSpace(o.Audience)) errors.Add("Tokens:Audience is required.");
        if (o.AccessTokenLifetime < TimeSpan.FromSeconds(30) || o.AccessTokenLifetime > TimeSpan.FromHours(1))
            errors.Add("Tokens:AccessTokenLifetime must be between 30 seconds and 1 hour.");
        if (o.RefreshIdleLifetime <= TimeSpan.Zero) errors.Add("Tokens:RefreshIdleLifetime must be positive.");
        if (o.RefreshAbsoluteLifetime < o.RefreshIdleLifetime)
            errors.Add("Tokens:RefreshAbsoluteLifetime must not be shorter than Tokens:RefreshIdleLifetime.");
        if (o.BrowserIdleLifetime <= TimeSpan.Zero) errors.Add("Tokens:BrowserIdleLifetime must be positive.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
