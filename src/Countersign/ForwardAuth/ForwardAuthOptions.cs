using Microsoft.Extensions.Options;

namespace Countersign.ForwardAuth;

/// <summary>Section <c>ForwardAuth</c>: the device cookie, redirects after enrolment, and the verify cache.</summary>
public sealed class ForwardAuthOptions
{
    public const string Section = "ForwardAuth";

    /// <summary>
    /// The device cookie. The <c>__Secure-</c> prefix makes browsers refuse it unless it is <c>Secure</c> and set over
    /// HTTPS (RFC 6265bis §4.1.3.1), and, unlike <c>__Host-</c>, it may carry a <c>Domain</c> so one cookie covers
    /// every protected app under it.
    /// </summary>
    public const string CookieName = "__Secure-cs_device";

    /// <summary><c>example.com</c> makes one device cookie cover <c>*.example.com</c>; empty (the default) keeps it to this host.</summary>
    public string? CookieDomain { get; set; }

    /// <summary><c>Lax</c> (the default) or <c>None</c>, for services that call <c>/verify</c> from another site (the seed's setting).</summary>
    public SameSiteMode CookieSameSite { get; set; } = SameSiteMode.Lax;

    /// <summary>A device unused this long is forgotten (sliding; 30 days by default).</summary>
    public TimeSpan DeviceLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// This server's origin as browsers reach it (<c>https://auth.example.com</c>): <c>/forward-auth</c> sends people who
    /// are not signed in to <c>{PublicOrigin}/devices/add</c>. Empty: a path on whatever host the proxy is.
    /// </summary>
    public string? PublicOrigin { get; set; }

    /// <summary>Follow <c>rd</c> to <c>http://</c> service URLs too. Development only: it allows a downgrade.</summary>
    public bool AllowHttpRedirects { get; set; }

    /// <summary>How often the "last seen" times gathered in memory are written, in one batch (never per request).</summary>
    public TimeSpan LastSeenFlushInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often each node reads the change counter; a change made anywhere reaches its cache within this (500 ms by default).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A cached device, account, service or grant is read again after this long even without an invalidation, so a
    /// message lost while Redis was away cannot keep a revoked device in for longer.
    /// </summary>
    public TimeSpan CacheLifetime { get; set; } = TimeSpan.FromMinutes(1);
}

internal sealed class ForwardAuthOptionsValidator : IValidateOptions<ForwardAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, ForwardAuthOptions o)
    {
        var errors = new List<string>();
        if (o.CookieSameSite is not (SameSiteMode.Lax or SameSiteMode.None or SameSiteMode.Strict))
            errors.Add("ForwardAuth:CookieSameSite must be Lax, Strict or None.");
        if (o.CookieDomain is { Length: > 0 } domain && (domain.StartsWith('.') || domain.Contains('/', StringComparison.Ordinal) || domain.Contains(':', StringComparison.Ordinal)))
            errors.Add("ForwardAuth:CookieDomain must be a bare domain such as example.com.");
        if (o.DeviceLifetime < TimeSpan.FromMinutes(5)) errors.Add("ForwardAuth:DeviceLifetime must be at least 5 minutes.");
        if (o.LastSeenFlushInterval <= TimeSpan.Zero) errors.Add("ForwardAuth:LastSeenFlushInterval must be positive.");
        if (o.PollInterval <= TimeSpan.Zero || o.PollInterval > TimeSpan.FromSeconds(1))
            errors.Add("ForwardAuth:PollInterval must be positive and at most 1 s (revocation reaches every node within it).");
        if (o.CacheLifetime <= TimeSpan.Zero) errors.Add("ForwardAuth:CacheLifetime must be positive.");
        if (o.PublicOrigin is { Length: > 0 } origin
            && (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.PathAndQuery != "/" || uri.UserInfo.Length > 0))
            errors.Add("ForwardAuth:PublicOrigin must be an origin such as https://auth.example.com.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
