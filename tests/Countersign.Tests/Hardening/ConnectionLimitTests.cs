using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Hardening;

/// <summary>Pen test H1: idle sockets must not be able to end the process, and each client gets only its share.</summary>
public sealed class DescriptorExhaustionTests
{
    [Fact]
    public async Task H1_a_thousand_idle_connections_under_a_1024_descriptor_limit_leave_the_server_alive_and_serving()
    {
        await using var server = await ChildServer.StartAsync(new Dictionary<string, string>
        {
            // The total cap is what is under test here, not the per-client one (every socket comes from 127.0.0.1).
            ["Connections:MaxConnectionsPerClient"] = "0",
            ["Defences:RateLimits:Enabled"] = "false",
        }, descriptorLimit: 1024);
        Assert.Contains("File descriptors: soft limit 1024", server.Output, StringComparison.Ordinal);

        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port).WaitAsync(TimeSpan.FromSeconds(5));
                }
                catch (Exception e) when (e is SocketException or TimeoutException)
                {
                    // Refused or not accepted: what a full server may do. It must not die.
                }
                idle.Add(socket);
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.False(server.HasExited, $"the server exited while holding idle connections:\n{server.Output}");
            Assert.True(server.OpenDescriptors() < 1024, "the server used every descriptor it has");

            idle[0].Dispose();
            using (var client = server.CreateClient())
            {
                try
                {
                    using var login = await client.PostAsync("/api/auth/login",
                        new StringContent("""{"username":"nobody","password":"wrong"}""", Encoding.UTF8, "application/json"));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // A full server may refuse the connection; the finding was the process exiting.
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.False(server.HasExited, $"the server exited after a sign-in at the limit:\n{server.Output}");
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }

        // Once the idle sockets are gone, it serves again.
        using var after = server.CreateClient();
        var deadline = Stopwatch.StartNew();
        HttpStatusCode? status = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(20) && status != HttpStatusCode.Unauthorized)
        {
            try
            {
                status = (await after.PostAsync("/api/auth/login",
                    new StringContent("""{"username":"nobody","password":"wrong"}""", Encoding.UTF8, "application/json"))).StatusCode;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(500);
            }
        }
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(HttpStatusCode.OK, (await after.GetAsync("/health/live")).StatusCode);
        Assert.False(server.HasExited);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_data_folder_is_0700_and_its_files_0600()
    {
        await using var server = await ChildServer.StartAsync(new Dictionary<string, string> { ["Secrets:KeyFile"] = "data/keys.json" });
        using var client = server.CreateClient();
        await client.PostAsync("/api/auth/login", new StringContent("""{"username":"nobody","password":"wrong"}""", Encoding.UTF8, "application/json"));
        var data = Path.Combine(server.Folder, "data");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        var files = Directory.GetFiles(data).Select(Path.GetFileName).ToList();
        foreach (var expected in new[] { "countersign.db", "countersign.db-wal", "countersign.db-shm", "attempts.jsonl", "keys.json" })
        {
            Assert.Contains(expected, files);
        }
        foreach (var file in Directory.GetFiles(data))
        {
            Assert.True((File.GetUnixFileMode(file) & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite)) == 0,
                $"{Path.GetFileName(file)} is {File.GetUnixFileMode(file)}");
        }
    }
}

public sealed class TightConnectionsServer() : TestServer(Database.Sqlite)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Connections:MaxConnectionsPerClient"] = "5";
        settings["Connections:KeepAliveTimeout"] = "00:00:02";
        settings["Connections:RequestHeadersTimeout"] = "00:00:02";
    }
}

public sealed class ConnectionLimitTests(TightConnectionsServer server) : IClassFixture<TightConnectionsServer>
{
    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        return socket;
    }

    /// <summary>Seconds until the server closes the socket (reads 0 bytes), or null when it stays open for <paramref name="wait"/>.</summary>
    private static async Task<double?> ClosedWithinAsync(Socket socket, TimeSpan wait)
    {
        var clock = Stopwatch.StartNew();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }
            return clock.Elapsed.TotalSeconds;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException)
        {
            return clock.Elapsed.TotalSeconds;
        }
    }

    [Fact]
    public async Task H1_a_client_over_its_connection_share_is_closed_at_once_and_the_rest_still_served()
    {
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                held.Add(await ConnectAsync());
            }
            await Task.Delay(200);
            using var sixth = await ConnectAsync();
            Assert.NotNull(await ClosedWithinAsync(sixth, TimeSpan.FromSeconds(1.5)));
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
        await Task.Delay(300);
        using var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task H1_idle_and_half_sent_requests_are_closed_after_the_configured_timeouts()
    {
        using var idle = await ConnectAsync();
        using var halfSent = await ConnectAsync();
        await halfSent.SendAsync(Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\nHost: localhost\r\n"), SocketFlags.None);
        // 2 s configured; Kestrel checks once a second. The old defaults were 130 s and 30 s.
        var idleClosed = ClosedWithinAsync(idle, TimeSpan.FromSeconds(8));
        var halfClosed = ClosedWithinAsync(halfSent, TimeSpan.FromSeconds(8));
        Assert.NotNull(await idleClosed);
        Assert.NotNull(await halfClosed);
    }
}
