using Microsoft.AspNetCore.Authentication;

namespace Countersign.Client;

/// <summary>Options of the <see cref="CountersignDefaults.AuthenticationScheme"/> scheme: where Countersign is, and who this service is.</summary>
public sealed class CountersignAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>
    /// The longest <see cref="CacheDuration"/> accepted. A revocation reaches every Countersign node within a second; a
    /// cache here adds its whole duration to that, so it stays short.
    /// </summary>
    public static readonly TimeSpan MaxCacheDuration = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Countersign's base URL as this service reaches it (<c>https://auth.internal:5080</c>). https, except for a
    /// loopback host or with <see cref="AllowInsecureHttp"/>: the service token and the user's cookie travel on it.
    /// </summary>
    public Uri? ServerUrl { get; set; }

    /// <summary>This service's name, as added with <c>countersign services add NAME</c>.</summary>
    public string Service { get; set; } = "";

    /// <summary>The service token <c>services add</c> or <c>services rotate-token</c> printed (43 base64url characters).</summary>
    public string ServiceToken { get; set; } = "";

    /// <summary>
    /// How long a successful verify of one cookie is reused without asking again. Off (zero) by default: every request
    /// is checked, so a revoked device, a removed grant or a disabled user is refused within Countersign's one second.
    /// A few seconds take most of the load off Countersign for a chatty page, at the price of that many seconds more
    /// before a revocation bites. Only successes are kept: a refusal is asked again, so a new device works at once.
    /// </summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.Zero;

    /// <summary>How many cookies the cache holds at most; beyond it, a verify is simply not cached.</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>How long one verify may take before the request fails closed (no principal). 3 s by default.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Where a challenged browser is sent to register a device (<c>https://auth.example.com/devices/add</c>), with
    /// <c>rd=</c> the page it asked for (Countersign follows it only to a configured service's host). Empty: a challenge
    /// is a bare 401, for APIs and for services behind a page of their own.
    /// </summary>
    public Uri? SignInUrl { get; set; }

    /// <summary>Allow an <c>http://</c> <see cref="ServerUrl"/> on a non-loopback host (a closed internal network, as the seed's Docker bridge).</summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>Every problem at once, checked when the host starts (<c>ValidateOnStart</c>).</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (ServerUrl is not { IsAbsoluteUri: true } url || url.Scheme is not ("https" or "http") || url.UserInfo.Length > 0
            || url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            problems.Add("Countersign: ServerUrl must be an absolute http(s) URL without user info, query or fragment.");
        }
        else if (url.Scheme == "http" && !url.IsLoopback && !AllowInsecureHttp)
        {
            problems.Add("Countersign: ServerUrl must be https (the service token and the user's cookie travel on it); set AllowInsecureHttp for a closed network.");
        }
        if (string.IsNullOrWhiteSpace(Service))
        {
            problems.Add("Countersign: Service (this service's name in Countersign) is required.");
        }
        if (!ServiceTokens.IsWellFormed(ServiceToken))
        {
            problems.Add("Countersign: ServiceToken must be the 43-character token that services add printed.");
        }
        if (CacheDuration < TimeSpan.Zero || CacheDuration > MaxCacheDuration)
        {
            problems.Add($"Countersign: CacheDuration must be between 0 (off) and {MaxCacheDuration.TotalSeconds} s.");
        }
        if (CacheSize < 1)
        {
            problems.Add("Countersign: CacheSize must be positive.");
        }
        if (Timeout <= TimeSpan.Zero)
        {
            problems.Add("Countersign: Timeout must be positive.");
        }
        if (SignInUrl is { } signIn && (!signIn.IsAbsoluteUri || signIn.Scheme is not ("https" or "http")))
        {
            problems.Add("Countersign: SignInUrl must be an absolute http(s) URL.");
        }
        return problems;
    }

    public override void Validate()
    {
        base.Validate();
        if (Problems() is { Count: > 0 } problems)
        {
            throw new InvalidOperationException(string.Join(" ", problems));
        }
    }
}

internal static class ServiceTokens
{
    /// <summary>256 bits in base64url without padding: 43 characters of the URL-safe alphabet.</summary>
    public static bool IsWellFormed(string? token) =>
        token is { Length: 43 } && token.All(c => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');
}
