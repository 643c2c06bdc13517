using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Countersign.QuadFactor;

namespace Countersign.Tests.Infrastructure;

/// <summary>
/// A real NTP server: Debian's chronyd as a user process from a temp folder, serving its local clock at stratum 10
/// on a free loopback UDP port. <c>-x</c> means it never sets the system clock; <c>cmdport 0</c> opens no control
/// socket; scripts/test installs the package.
/// </summary>
public sealed class Chrony : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("countersign-chrony-").FullName;
    private Process? _process;

    public int Port { get; private set; }

    public string Server => $"127.0.0.1:{Port}";

    public static async Task<Chrony> StartAsync()
    {
        var chrony = new Chrony();
        await chrony.RunAsync();
        return chrony;
    }

    private async Task RunAsync()
    {
        // The free port is only free until someone takes it: another fixture starting at the same moment can be given
        // the same one, and then chronyd logs that it could not open its socket and serves nothing. Start again on
        // another port rather than wait out the minute.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await TryRunAsync())
            {
                return;
            }
            await StopAsync();
            _process?.Dispose();
        }
        throw new InvalidOperationException("chronyd could not open its NTP socket on three free ports in a row");
    }

    /// <summary>Starts chronyd on a free port; false when the port was taken before chronyd could bind it.</summary>
    private async Task<bool> TryRunAsync()
    {
        const string binary = "/usr/sbin/chronyd";
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException("chronyd is not installed (Debian package chrony; scripts/test installs it)");
        }
        Port = FreeUdpPort();
        var config = Path.Combine(_folder, "chrony.conf");
        await File.WriteAllTextAsync(config, $"""
            port {Port}
            bindaddress 127.0.0.1
            cmdport 0
            local stratum 10
            allow 127.0.0.1
            pidfile {Path.Combine(_folder, "chronyd.pid")}
            driftfile {Path.Combine(_folder, "drift")}
            """);
        // -d: stay in the foreground (so this process owns it); -u root: as root, keep the user (no _chrony, who could
        // not read the temp folder); as any other user it runs as that user.
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["-x", "-d", "-f", config, .. Environment.UserName == "root" ? (string[])["-u", "root"] : []])
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("chronyd did not start");
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        // Serving once it answers a query with its local reference, which it may take seconds to activate on a loaded
        // machine (a clean CI run once waited longer than 10 s): up to a minute.
        var endpoint = new IPEndPoint(IPAddress.Loopback, Port);
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            if ((await Sntp.QueryAsync(endpoint, TimeProvider.System, TimeSpan.FromMilliseconds(200), CancellationToken.None)).Answer is not null)
            {
                return true;
            }
            if (output.Any(line => line.Contains("Could not open NTP socket", StringComparison.Ordinal)))
            {
                return false;
            }
            if (_process.HasExited)
            {
                break;
            }
        }
        throw new InvalidOperationException($"chronyd did not answer on 127.0.0.1:{Port} within {waited.Elapsed.TotalSeconds:F0} s: {string.Join(" | ", output)}");
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    internal static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}

/// <summary>
/// A test-owned UDP peer for the replies a real NTP server would never send (garbage, forged origin, silence): a
/// protocol peer under the test's control, like the echo upstream of ForwardAuth/ProxyTests. <see cref="Reply"/> gets the
/// request and returns the datagrams to send back (none: silence).
/// </summary>
public sealed class NtpResponder : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public NtpResponder()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _loop = Task.Run(LoopAsync);
    }

    public Func<byte[], IEnumerable<byte[]>> Reply { get; set; } = _ => [];

    public int Requests { get; private set; }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public string Server => $"127.0.0.1:{EndPoint.Port}";

    private async Task LoopAsync()
    {
        var buffer = new byte[512];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                continue;
            }
            Requests++;
            foreach (var datagram in Reply(buffer[..received.ReceivedBytes]))
            {
                await _socket.SendToAsync(datagram, SocketFlags.None, received.RemoteEndPoint);
            }
        }
    }

    /// <summary>A well-formed server reply to <paramref name="request"/> saying it is <paramref name="now"/>; tests spoil one field.</summary>
    public static byte[] Answer(byte[] request, DateTimeOffset now, byte mode = 4, byte stratum = 2, int leap = 0)
    {
        var reply = new byte[48];
        reply[0] = (byte)((leap << 6) | (4 << 3) | mode);
        reply[1] = stratum;
        request.AsSpan(40, 8).CopyTo(reply.AsSpan(24));
        BinaryPrimitives.WriteUInt64BigEndian(reply.AsSpan(32), Timestamp(now));
        BinaryPrimitives.WriteUInt64BigEndian(reply.AsSpan(40), Timestamp(now));
        return reply;
    }

    public static ulong Timestamp(DateTimeOffset t)
    {
        var since1900 = t - new DateTimeOffset(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var seconds = (ulong)since1900.Ticks / TimeSpan.TicksPerSecond;
        var fraction = ((ulong)since1900.Ticks % TimeSpan.TicksPerSecond << 32) / TimeSpan.TicksPerSecond;
        return ((seconds & 0xFFFF_FFFF) << 32) | fraction;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
