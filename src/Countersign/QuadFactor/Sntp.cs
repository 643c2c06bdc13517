using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Countersign.QuadFactor;

/// <summary>Where <c>QuadFactor:NtpServer</c> points: a host name or address and a UDP port.</summary>
public sealed record NtpEndpoint(string Host, int Port)
{
    public const int DefaultPort = 123;

    /// <summary><c>host</c>, <c>host:port</c>, <c>a.b.c.d:port</c>, a bare IPv6 address or <c>[v6]:port</c>; null when it is none of them.</summary>
    public static NtpEndpoint? TryParse(string text)
    {
        text = text.Trim();
        if (text.Length == 0)
        {
            return null;
        }
        string host;
        var port = DefaultPort;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryPort(rest[1..], out port)))
            {
                return null;
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            host = text[..colon];
            if (!TryPort(text[(colon + 1)..], out port))
            {
                return null;
            }
        }
        else
        {
            host = text;
        }
        var ok = host.Length > 0 && (IPAddress.TryParse(host, out _) || Uri.CheckHostName(host) == UriHostNameType.Dns);
        return ok ? new NtpEndpoint(host, port) : null;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>One answer: how far the local clock is behind the server's (positive: local is slow), and the round trip.</summary>
public readonly record struct SntpAnswer(TimeSpan Offset, TimeSpan RoundTrip, int Stratum);

/// <summary>An answer, or why there is none (one line, for the log and the health check).</summary>
public sealed record SntpResult(SntpAnswer? Answer, string? Problem);

/// <summary>
/// A Simple NTP client (RFC 4330; the packet of RFC 5905 §7.3): one 48-byte mode-3 request over UDP, one mode-4 reply,
/// offset = ((T2 − T1) + (T3 − T4)) / 2 (RFC 5905 §8). T1 and T4 are read from the clock being checked, so a test's
/// <see cref="TimeProvider"/> is what gets measured.
/// <para>
/// Off-path forgery: the request's transmit timestamp is 64 random bits, not the time (draft-ietf-ntp-data-minimization
/// §3: it leaks nothing and cannot be guessed), and a reply counts only when its origin timestamp echoes them (RFC 5905
/// §8, the "bogus packet" test). The socket is connected, so the kernel drops datagrams from any other address or port,
/// and its source port is the system's random ephemeral one (RFC 9109). A reply that fails a check is dropped and the
/// wait goes on, so a forger cannot end the exchange early with junk.
/// </para>
/// </summary>
public static class Sntp
{
    private const int PacketLength = 48;

    public static async Task<SntpResult> QueryAsync(IPEndPoint server, TimeProvider clock, TimeSpan timeout, CancellationToken ct)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var request = new byte[PacketLength];
        // LI 0, version 4, mode 3 (client); every other field zero (RFC 4330 §5).
        request[0] = 0b00_100_011;
        var origin = RandomNumberGenerator.GetBytes(8);
        origin.CopyTo(request, 40);
        // The network timeout is real time whatever clock is checked: a test's frozen clock must not stall the wait.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        string? problem = null;
        try
        {
            await socket.ConnectAsync(server, deadline.Token);
            var t1 = clock.GetUtcNow();
            await socket.SendAsync(request, SocketFlags.None, deadline.Token);
            var buffer = new byte[512];
            while (true)
            {
                var length = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                var t4 = clock.GetUtcNow();
                var (answer, why) = Read(buffer.AsSpan(0, length), origin, t1, t4);
                if (answer is not null)
                {
                    return new(answer, null);
                }
                problem = why;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new(null, problem is null
                ? $"no answer from {server} within {timeout.TotalSeconds:0.#} s"
                : $"no valid answer from {server} within {timeout.TotalSeconds:0.#} s (last reply refused: {problem})");
        }
        catch (SocketException e)
        {
            return new(null, $"{server} unreachable ({e.SocketErrorCode})");
        }
    }

    /// <summary>The answer in a reply, or why the reply does not count.</summary>
    internal static (SntpAnswer? Answer, string? Problem) Read(ReadOnlySpan<byte> reply, ReadOnlySpan<byte> origin, DateTimeOffset t1, DateTimeOffset t4)
    {
        if (reply.Length < PacketLength)
        {
            return (null, $"a reply of {reply.Length} bytes, under {PacketLength}");
        }
        var leap = reply[0] >> 6;
        var version = (reply[0] >> 3) & 0b111;
        var mode = reply[0] & 0b111;
        var stratum = reply[1];
        if (mode != 4)
        {
            return (null, $"mode {mode}, not a server reply (4)");
        }
        if (version is < 1 or > 4)
        {
            return (null, $"NTP version {version}");
        }
        if (!reply.Slice(24, 8).SequenceEqual(origin))
        {
            // RFC 5905 §8: not an answer to our request (stale, duplicated or forged).
            return (null, "its origin timestamp is not our request's");
        }
        if (stratum == 0)
        {
            // RFC 5905 §7.4: a kiss-o'-death; its code is four ASCII letters in the reference id.
            var code = new string([.. reply.Slice(12, 4).ToArray().Select(b => b is >= 0x20 and < 0x7F ? (char)b : '?')]);
            return (null, $"kiss-o'-death {code}");
        }
        if (stratum > 15)
        {
            return (null, $"stratum {stratum}: the server is not synchronised");
        }
        if (leap == 3)
        {
            // RFC 5905 §7.3: leap indicator 3 is "unknown (clock unsynchronized)".
            return (null, "leap indicator 3: the server's clock is not synchronised");
        }
        var transmit = BinaryPrimitives.ReadUInt64BigEndian(reply[40..]);
        if (transmit == 0)
        {
            return (null, "its transmit timestamp is zero");
        }
        var t2 = Time(BinaryPrimitives.ReadUInt64BigEndian(reply[32..]));
        var t3 = Time(transmit);
        var offset = ((t2 - t1) + (t3 - t4)) / 2;
        var roundTrip = (t4 - t1) - (t3 - t2);
        return (new SntpAnswer(offset, roundTrip < TimeSpan.Zero ? TimeSpan.Zero : roundTrip, stratum), null);
    }

    /// <summary>
    /// An NTP timestamp (32 bits of seconds since 1900, 32 of fraction) as a time. RFC 4330 §3: with the top bit clear
    /// the seconds count from 2036-02-07 06:28:16 UTC (era 1), so the client keeps working past the 2036 rollover.
    /// </summary>
    internal static DateTimeOffset Time(ulong timestamp)
    {
        var seconds = (uint)(timestamp >> 32);
        var fraction = (uint)timestamp;
        var era = (seconds & 0x8000_0000) == 0 ? Era1 : Era0;
        return era.AddSeconds(seconds).AddTicks((long)((ulong)fraction * TimeSpan.TicksPerSecond >> 32));
    }

    private static readonly DateTimeOffset Era0 = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Era1 = Era0.AddSeconds(4_294_967_296);
}
