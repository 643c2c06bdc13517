using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Countersign.QuadFactor;

namespace Countersign.Cli;

/// <summary>How the client decides to trust the server's certificate.</summary>
internal abstract record ServerTrust
{
    /// <summary>Exactly this certificate: SHA-256 of its DER, hex (colons and case ignored).</summary>
    public sealed record Pin(string Sha256) : ServerTrust;

    /// <summary>A chain to this CA, for the host name asked for.</summary>
    public sealed record Ca(X509Certificate2 Root) : ServerTrust;

    /// <summary>The system's trust store, for the host name asked for.</summary>
    public sealed record System : ServerTrust;

    public static string NormalisePin(string pin) => new([.. pin.Where(Uri.IsHexDigit).Select(char.ToUpperInvariant)]);
}

/// <summary>
/// One connection of the quad-factor protocol (docs/quad-factor.md): TLS 1.2+, then request and response frames of
/// a 4-byte big-endian length and UTF-8 JSON. The CLI client, the tests and the bench all speak through it.
/// </summary>
internal sealed class QuadClient : IAsyncDisposable
{
    public const int MaxResponseBytes = 1024 * 1024;

    private readonly TcpClient _tcp;

    private QuadClient(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        Stream = tls;
    }

    /// <summary>The TLS stream, for tests that write raw bytes.</summary>
    public SslStream Stream { get; }

    public static async Task<QuadClient> ConnectAsync(string host, int port, ServerTrust trust, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, ct);
            var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusted(trust, host, certificate, errors),
            }, ct);
            return new QuadClient(tcp, tls);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static bool Trusted(ServerTrust trust, string host, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }
        switch (trust)
        {
            case ServerTrust.Pin pin:
                // A pinned certificate is trusted for what it is, whatever its name or issuer (RFC 7469's idea, for one server).
                var actual = Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData()));
                return CryptographicOperations.FixedTimeEquals(global::System.Text.Encoding.ASCII.GetBytes(actual),
                    global::System.Text.Encoding.ASCII.GetBytes(ServerTrust.NormalisePin(pin.Sha256)));
            case ServerTrust.Ca ca:
                using (var chain = new X509Chain())
                {
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca.Root);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var leaf = new X509Certificate2(certificate);
                    return chain.Build(leaf) && leaf.MatchesHostname(host);
                }
            default:
                return errors == SslPolicyErrors.None;
        }
    }

    /// <summary>Sends one request and reads its response.</summary>
    public async Task<JsonElement> SendAsync(JsonObject request, CancellationToken ct)
    {
        await WriteFrameAsync(Stream, JsonSerializer.SerializeToUtf8Bytes(request), ct);
        var reply = await ReadFrameAsync(Stream, ct) ?? throw new IOException("the server closed the connection without answering");
        return JsonDocument.Parse(reply).RootElement.Clone();
    }

    public static async Task WriteFrameAsync(Stream stream, byte[] payload, CancellationToken ct)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame, 4);
        await stream.WriteAsync(frame, ct);
        await stream.FlushAsync(ct);
    }

    /// <summary>The next frame's payload, or null when the server closed the connection first.</summary>
    public static async Task<byte[]?> ReadFrameAsync(Stream stream, CancellationToken ct)
    {
        var header = new byte[4];
        try
        {
            await stream.ReadExactlyAsync(header, ct);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length is 0 or > MaxResponseBytes)
        {
            throw new IOException($"the server sent a frame of {length} bytes");
        }
        var payload = new byte[length];
        await stream.ReadExactlyAsync(payload, ct);
        return payload;
    }

    /// <summary>
    /// Adds <c>client_time</c>, a fresh 16-byte <c>nonce</c> and the device's <c>signature</c> over
    /// <c>countersign-qf-v1\n{command}\n{username}\n{client_time}\n{nonce}</c> to a request.
    /// </summary>
    public static JsonObject Sign(JsonObject request, ECDsa key, long clientTime, string? nonce = null)
    {
        nonce ??= Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var text = DeviceProof.TextToSign((string)request["command"]!, (string)request["username"]!, clientTime, nonce);
        request["client_time"] = clientTime;
        request["nonce"] = nonce;
        request["signature"] = Convert.ToBase64String(key.SignData(text, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync();
        _tcp.Dispose();
    }
}
