using System.Buffers;
using System.Text;

namespace Countersign.ForwardAuth;

/// <summary>
/// How a forwarded URL is read, and which redirect targets are followed. The advisories these replay: path and query
/// tricks that pick the wrong rule (GHSA-7rh7-c77v-6434, GHSA-pxq7-h93f-9jrg) and open redirects (oauth2-proxy
/// GHSA-qqxw-m5fj-f7gv, Authelia GHSA-36f2-fcrx-fp4j).
/// </summary>
public static class PathRules
{
    // What char.IsControl matches (C0, DEL and C1), and the replacement character a bad UTF-8 escape decodes to.
    private static readonly SearchValues<char> Refused = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)) + "\uFFFD");

    /// <summary>
    /// The path an upstream would act on: the query cut off, percent-escapes decoded (so <c>%2e%2e</c> is <c>..</c> and
    /// <c>%2f</c> a slash), backslashes read as slashes, runs of slashes merged, <c>;parameters</c> dropped from each
    /// segment and dot segments removed (RFC 3986 §5.2.4). Null when it climbs above the root, holds an escape that is not
    /// UTF-8 or is encoded more than twice, or holds a control character: such a request is refused, never matched loosely.
    /// </summary>
    public static string? Normalize(string? rawUri)
    {
        if (string.IsNullOrEmpty(rawUri) || rawUri[0] != '/')
        {
            return null;
        }
        var end = rawUri.AsSpan().IndexOfAny('?', '#');
        var path = end < 0 ? rawUri : rawUri[..end];
        return IsAlreadyNormal(path) ? path : Resolve(path);
    }

    /// <summary>
    /// Whether the path is its own normal form, the common case on the verify hot path: only unreserved characters
    /// (RFC 3986 §2.3) and single slashes, and no segment that is a dot or two. Then there is nothing to decode, merge,
    /// cut or resolve, and <see cref="Resolve"/> would give it back unchanged (a test checks the two agree).
    /// </summary>
    internal static bool IsAlreadyNormal(string path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '/')
            {
                if (i > 0 && path[i - 1] == '/')
                {
                    return false;
                }
            }
            else if (c == '.')
            {
                // A segment of one or two dots only: "/." or "/.." followed by a slash or the end.
                var start = path.LastIndexOf('/', i) + 1;
                var stop = path.IndexOf('/', i);
                var length = (stop < 0 ? path.Length : stop) - start;
                if (length <= 2 && path.AsSpan(start, length).IndexOfAnyExcept('.') < 0)
                {
                    return false;
                }
            }
            else if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '~'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The whole of <see cref="Normalize"/> for a path without its query.</summary>
    internal static string? Resolve(string path)
    {
        string decoded;
        try
        {
            // Twice, so a double-encoded dot (%252e) cannot pass as a name here and as a dot behind a second decoder.
            decoded = Uri.UnescapeDataString(Uri.UnescapeDataString(path));
        }
        catch (UriFormatException)
        {
            return null;
        }
        // An escape that survives two decodings is one that does not decode to UTF-8 (%C3 alone, which the unescaper
        // leaves as it is) or a third level of encoding (%25252e): either way an upstream may read it otherwise.
        if (decoded.AsSpan().ContainsAny(Refused) || HoldsEscape(decoded))
        {
            return null;
        }
        var segments = new List<string>();
        foreach (var raw in decoded.Replace('\\', '/').Split('/'))
        {
            var segment = raw.Split(';')[0];
            switch (segment)
            {
                case "" or ".":
                    continue;
                case "..":
                    if (segments.Count == 0)
                    {
                        return null;
                    }
                    segments.RemoveAt(segments.Count - 1);
                    continue;
                default:
                    segments.Add(segment);
                    break;
            }
        }
        var trailing = decoded.EndsWith('/') && segments.Count > 0 ? "/" : "";
        return "/" + string.Join('/', segments) + trailing;
    }

    private static bool HoldsEscape(string text)
    {
        for (var i = text.IndexOf('%'); i >= 0; i = text.IndexOf('%', i + 1))
        {
            if (Uri.IsHexEncoding(text, i))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether a normalised path is the prefix itself or below it, segment by segment (<c>/app</c> does not cover <c>/apple</c>).</summary>
    public static bool UnderPrefix(string path, string prefix)
    {
        if (prefix == "/")
        {
            return true;
        }
        var bare = prefix.TrimEnd('/');
        return path.Equals(bare, StringComparison.Ordinal)
            || (path.StartsWith(bare, StringComparison.Ordinal) && path.Length > bare.Length && path[bare.Length] == '/');
    }

    /// <summary>A path prefix as stored: starts with a slash, already normal, no query.</summary>
    public static bool IsValidPrefix(string prefix) =>
        prefix.StartsWith('/') && Normalize(prefix) is { } normal && (normal == prefix || normal + "/" == prefix) && !prefix.Contains('%', StringComparison.Ordinal)
        && !prefix.Contains(';', StringComparison.Ordinal);

    /// <summary>
    /// The <c>rd</c> target, when it may be followed: an absolute https URL (http only when allowed, for development),
    /// with no user info, on the host of a configured service, written only with plain URL characters. Anything
    /// else (<c>//evil.com</c>, <c>/\evil.com</c>, <c>https:evil.com</c>, <c>https://good@evil.com</c>,
    /// <c>https://good.evil.com</c>, <c>javascript:</c>, a tab or a backslash anywhere) gives null, and the caller lands
    /// on the account page.
    /// </summary>
    public static string? SafeRedirect(string? rd, Func<string, bool> isServiceHost, bool allowHttp)
    {
        if (string.IsNullOrEmpty(rd) || rd.Length > 2048 || rd.Any(c => c <= ' ' || c >= 0x7f || c == '\\'))
        {
            return null;
        }
        var http = rd.StartsWith("http://", StringComparison.Ordinal);
        if (!rd.StartsWith("https://", StringComparison.Ordinal) && !(allowHttp && http))
        {
            return null;
        }
        if (!Uri.TryCreate(rd, UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0 || !uri.IsDefaultPort && uri.Port <= 0
            || uri.Scheme != (http ? Uri.UriSchemeHttp : Uri.UriSchemeHttps) || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            return null;
        }
        // The authority as written must be the host (and port) the URI parser read, nothing hidden in between.
        var authority = rd[(rd.IndexOf("//", StringComparison.Ordinal) + 2)..].Split('/', '?', '#')[0];
        var host = uri.IsDefaultPort ? uri.IdnHost : uri.IdnHost + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!authority.Equals(host, StringComparison.OrdinalIgnoreCase) && !authority.Equals(uri.IdnHost + ":" + uri.Port, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return isServiceHost(host.ToLowerInvariant()) ? uri.AbsoluteUri : null;
    }

    /// <summary>The original URL a trusted proxy forwarded, for <c>rd</c>.</summary>
    public static string OriginalUrl(string proto, string host, string uri)
    {
        var text = new StringBuilder(proto).Append("://").Append(host);
        return text.Append(uri.StartsWith('/') ? uri : "/" + uri).ToString();
    }
}
