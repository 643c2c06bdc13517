using System.Net;
using Microsoft.Extensions.Options;

namespace Countersign.QuadFactor;

/// <summary>Section <c>QuadFactor</c>: the TLS socket protocol of docs/quad-factor.md.</summary>
public sealed class QuadFactorOptions
{
    public const string Section = "QuadFactor";

    /// <summary>Unset: on in embedded mode (SQLite), off otherwise.</summary>
    public bool? Enabled { get; set; }

    /// <summary>The address to listen on; loopback by default, like the HTTP default (set 0.0.0.0 or :: to serve the network).</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The TCP port (0 picks a free one, for tests).</summary>
    public int Port { get; set; } = 65432;

    /// <summary>A PKCS#12 file with the certificate and its key. In embedded mode a self-signed one is generated here when missing.</summary>
    public string CertificatePath { get; set; } = "data/quad-factor.pfx";

    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Generate a self-signed certificate at <see cref="CertificatePath"/> when there is none. Unset: in embedded mode
    /// only; several nodes should share one certificate from configuration, or clients meet a different pin on each.
    /// </summary>
    public bool? GenerateCertificate { get; set; }

    /// <summary>The largest frame accepted (length prefix excluded): room for a face photo.</summary>
    public int MaxFrameBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How much of all connections' frames may be buffered at once; a frame that would go over it is refused.</summary>
    public long MaxBufferedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Time a connection may wait between frames (and for the first one) before it is closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time to send one whole frame once its first byte has arrived.</summary>
    public TimeSpan FrameTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Open protocol connections from one address (IPv6: one /64).</summary>
    public int MaxConnectionsPerAddress { get; set; } = 8;

    /// <summary>How far <c>client_time</c> may be from the server's clock.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// An NTP server (<c>host</c> or <c>host:port</c>, <c>[v6]:port</c>; port 123 by default) the server checks its own
    /// clock against, at start and every <see cref="NtpInterval"/>. Unset: no check. Set: every command is refused
    /// (<c>server_clock_unverified</c>) until an answer shows the clock within <see cref="MaxServerClockOffset"/>.
    /// Empty counts as unset.
    /// </summary>
    public string? NtpServer { get; set; }

    /// <summary>How far the server's clock may be from the NTP server's before commands are refused.</summary>
    public TimeSpan MaxServerClockOffset { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time between two checks of the clock (after a failed check, the next is a minute later).</summary>
    public TimeSpan NtpInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The face engine's match threshold (docs/face.md calibrates the default).</summary>
    public double FaceThreshold { get; set; } = Face.FaceEngine.DefaultThreshold;

    public bool IsEnabled(bool embedded) => Enabled ?? embedded;
}

internal sealed class QuadFactorOptionsValidator : IValidateOptions<QuadFactorOptions>
{
    public ValidateOptionsResult Validate(string? name, QuadFactorOptions o)
    {
        var errors = new List<string>();
        if (!IPAddress.TryParse(o.Address, out _))
        {
            errors.Add("QuadFactor:Address must be an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::).");
        }
        if (o.Port is < 0 or > 65535)
        {
            errors.Add("QuadFactor:Port must be between 0 and 65535.");
        }
        if (string.IsNullOrWhiteSpace(o.CertificatePath))
        {
            errors.Add("QuadFactor:CertificatePath is required.");
        }
        if (o.MaxFrameBytes is < 1024 or > 64 * 1024 * 1024)
        {
            errors.Add("QuadFactor:MaxFrameBytes must be between 1024 and 67108864.");
        }
        if (o.MaxBufferedBytes < o.MaxFrameBytes)
        {
            errors.Add("QuadFactor:MaxBufferedBytes must be at least QuadFactor:MaxFrameBytes.");
        }
        if (o.IdleTimeout <= TimeSpan.Zero || o.IdleTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add("QuadFactor:IdleTimeout must be between 0 and 00:10:00.");
        }
        if (o.FrameTimeout <= TimeSpan.Zero || o.FrameTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("QuadFactor:FrameTimeout must be between 0 and 00:05:00.");
        }
        if (o.MaxConnectionsPerAddress < 1)
        {
            errors.Add("QuadFactor:MaxConnectionsPerAddress must be at least 1.");
        }
        if (o.MaxClockSkew < TimeSpan.FromSeconds(1) || o.MaxClockSkew > TimeSpan.FromMinutes(15))
        {
            errors.Add("QuadFactor:MaxClockSkew must be between 00:00:01 and 00:15:00.");
        }
        if (!string.IsNullOrWhiteSpace(o.NtpServer) && NtpEndpoint.TryParse(o.NtpServer) is null)
        {
            errors.Add("QuadFactor:NtpServer must be host, host:port or [IPv6]:port.");
        }
        if (o.MaxServerClockOffset < TimeSpan.FromMilliseconds(100) || o.MaxServerClockOffset > TimeSpan.FromMinutes(1))
        {
            errors.Add("QuadFactor:MaxServerClockOffset must be between 00:00:00.1 and 00:01:00.");
        }
        if (o.NtpInterval < TimeSpan.FromMinutes(1) || o.NtpInterval > TimeSpan.FromHours(1))
        {
            errors.Add("QuadFactor:NtpInterval must be between 00:01:00 and 01:00:00.");
        }
        if (!(o.FaceThreshold > 0 && o.FaceThreshold < 4))
        {
            errors.Add("QuadFactor:FaceThreshold must be a distance in (0, 4).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
