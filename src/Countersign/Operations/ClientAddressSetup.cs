using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Countersign.Operations;

/// <summary>Section <c>Network</c>.</summary>
public sealed class NetworkOptions
{
    public const string Section = "Network";

    /// <summary>
    /// Reverse proxies whose <c>X-Forwarded-For</c>, <c>X-Forwarded-Proto</c> and <c>Forwarded</c> headers are
    /// believed: addresses (<c>10.0.0.5</c>) or CIDR ranges (<c>10.0.0.0/8</c>). Empty, the default, believes no
    /// one: the client address is the TCP peer's, whatever a client writes in a header.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];
}

internal sealed class NetworkOptionsValidator : IValidateOptions<NetworkOptions>
{
    public ValidateOptionsResult Validate(string? name, NetworkOptions options)
    {
        var errors = options.TrustedProxies
            .Where(p => !IPAddress.TryParse(p, out _) && !System.Net.IPNetwork.TryParse(p, out _))
            .Select(p => $"Network:TrustedProxies: '{p}' is neither an IP address nor a CIDR range (such as 10.0.0.0/8).")
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// The real client address behind proxies, decided once per request before anything reads it: ASP.NET Core's
/// forwarded-headers handling, fed only by <see cref="NetworkOptions.TrustedProxies"/>. Behind a chain of
/// trusted proxies the address is the last one none of them vouches for (so a client cannot prepend its own
/// <c>X-Forwarded-For</c> entries: oauth2-proxy GHSA-7x63-xv5r-3p2x). The scheme a trusted proxy forwards
/// decides the cookie's <c>Secure</c> flag in plain-HTTP development.
/// </summary>
public static class ClientAddressSetup
{
    public static IHostApplicationBuilder AddClientAddress(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<NetworkOptions>().BindValidated(NetworkOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<NetworkOptions>, NetworkOptionsValidator>();
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<NetworkOptions>>((forwarded, network) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The framework trusts loopback out of the box; Countersign trusts only what is configured.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            forwarded.ForwardLimit = null;
            forwarded.RequireHeaderSymmetry = false;
            foreach (var entry in network.Value.TrustedProxies)
            {
                if (IPAddress.TryParse(entry, out var address))
                {
                    forwarded.KnownProxies.Add(address);
                }
                else if (System.Net.IPNetwork.TryParse(entry, out var range))
                {
                    forwarded.KnownIPNetworks.Add(range);
                }
            }
        });
        return builder;
    }

    /// <summary>
    /// Whether the TCP peer of this request is one of <see cref="NetworkOptions.TrustedProxies"/>, decided before the
    /// forwarded headers replace the address: forward auth believes the proxy's X-Forwarded-Host/-Uri/-Method from
    /// it only (oauth2-proxy GHSA-7x63-xv5r-3p2x).
    /// </summary>
    public static bool FromTrustedProxy(HttpContext http) => http.Features.Get<TrustedPeer>() is not null;

    private sealed class TrustedPeer;

    private static readonly TrustedPeer Trusted = new();

    /// <summary>First in the pipeline: every later step sees the address decided here.</summary>
    public static WebApplication UseClientAddress(this WebApplication app)
    {
        var trusted = app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        if (trusted.KnownProxies.Count == 0 && trusted.KnownIPNetworks.Count == 0)
        {
            return app;
        }
        app.Use((http, next) =>
        {
            if (http.Connection.RemoteIpAddress is { } tcpPeer && IsTrusted(trusted, tcpPeer))
            {
                http.Features.Set(Trusted);
            }
            // RFC 7239 Forwarded, from a trusted proxy that sends it instead of the X-Forwarded-* pair.
            if (http.Request.Headers.ContainsKey("Forwarded") && !http.Request.Headers.ContainsKey("X-Forwarded-For")
                && http.Connection.RemoteIpAddress is { } peer && IsTrusted(trusted, peer))
            {
                TranslateForwarded(http.Request.Headers);
            }
            return next(http);
        });
        app.UseForwardedHeaders();
        return app;
    }

    private static bool IsTrusted(ForwardedHeadersOptions options, IPAddress peer)
    {
        var address = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
        return options.KnownProxies.Contains(address) || options.KnownIPNetworks.Any(n => n.Contains(address));
    }

    /// <summary><c>Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"</c> → <c>X-Forwarded-For</c> and <c>-Proto</c>.</summary>
    private static void TranslateForwarded(IHeaderDictionary headers)
    {
        var fors = new List<string>();
        var protos = new List<string>();
        foreach (var element in headers["Forwarded"].SelectMany(v => (v ?? "").Split(',')))
        {
            foreach (var pair in element.Split(';'))
            {
                var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
                if (parts.Length != 2)
                {
                    continue;
                }
                var value = parts[1].Trim('"');
                if (parts[0].Equals("for", StringComparison.OrdinalIgnoreCase))
                {
                    fors.Add(value.StartsWith('[') && value.IndexOf(']', StringComparison.Ordinal) is var end and > 0 ? value[1..end] : value.Split(':')[0]);
                }
                else if (parts[0].Equals("proto", StringComparison.OrdinalIgnoreCase))
                {
                    protos.Add(value);
                }
            }
        }
        if (fors.Count > 0)
        {
            headers["X-Forwarded-For"] = string.Join(", ", fors);
        }
        if (protos.Count > 0)
        {
            headers["X-Forwarded-Proto"] = protos[^1];
        }
    }
}
