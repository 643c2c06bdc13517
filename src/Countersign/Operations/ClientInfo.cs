namespace Countersign.Operations;

/// <summary>
/// Who is on the other end of a request: the client address and user agent, read once per request from
/// one source. Behind a configured proxy the address is the forwarded client's (see
/// <see cref="ClientAddressSetup"/>); from anyone else, forwarded headers are ignored and it is the peer's.
/// Rate limits, captcha counts, the audit and the attempt log all take it from here.
/// </summary>
public sealed record ClientInfo(string? Ip, string? UserAgent)
{
    public static ClientInfo From(HttpContext http) =>
        new(IpOf(http), Truncate(http.Request.Headers.UserAgent.ToString(), 512));

    /// <summary>The client address alone, for the places that need nothing else.</summary>
    public static string? IpOf(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();

    private static string? Truncate(string value, int max) =>
        string.IsNullOrEmpty(value) ? null : value.Length <= max ? value : value[..max];
}
