namespace Countersign.Client;

/// <summary>The names Countersign's <c>/verify/{service}</c> speaks, and this library's defaults.</summary>
public static class CountersignDefaults
{
    public const string AuthenticationScheme = "Countersign";

    public const string HttpClientName = "Countersign.Client";

    /// <summary>The device cookie Countersign sets (<c>__Secure-</c>: browsers keep it only if Secure and set over HTTPS).</summary>
    public const string CookieName = "__Secure-cs_device";

    public const string SubjectHeader = "X-Countersign-Subject";
    public const string DeviceHeader = "X-Countersign-Device";

    /// <summary>Sent only to services added with <c>--send-identity</c>; percent-encoded (a header is ASCII, a name need not be).</summary>
    public const string UserHeader = "X-Countersign-User";

    /// <summary>Comma-separated, each role percent-encoded; only with <c>--send-identity</c>.</summary>
    public const string RolesHeader = "X-Countersign-Roles";
}

/// <summary>The claims of a principal this library makes.</summary>
public static class CountersignClaimTypes
{
    /// <summary>The pairwise subject: stable for one user at this service, unrelated to the same user elsewhere (OIDC Core §8.1).</summary>
    public const string Subject = "sub";

    /// <summary>The device id the cookie named (32 hex digits).</summary>
    public const string Device = "countersign_device";
}
