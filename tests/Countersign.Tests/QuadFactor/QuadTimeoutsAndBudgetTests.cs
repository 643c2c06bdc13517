using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using Countersign.Cli;
using Countersign.QuadFactor;
using Countersign.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Countersign.Tests.QuadFactor;

/// <summary>Short timeouts, so the tests need not wait out the defaults (30 s idle, 15 s per frame).</summary>
public sealed class QuadTimeoutServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    public static readonly TimeSpan Idle = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan PerFrame = TimeSpan.FromSeconds(5);

    protected override void ConfigureMore(Dictionary<string, string?> settings)
    {
        settings["QuadFactor:IdleTimeout"] = Idle.ToString();
        settings["QuadFactor:FrameTimeout"] = PerFrame.ToString();
    }
}

/// <summary>A 26 MiB frame budget: six 4 MiB frames and room for a login (the default timeouts).</summary>
public sealed class QuadBudgetServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    public const long Budget = 26L * 1024 * 1024;

    protected override void ConfigureMore(Dictionary<string, string?> settings) =>
        settings["QuadFactor:MaxBufferedBytes"] = Budget.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The idle timeout and the per-frame read timeout (a slow-loris client), while another client signs in.</summary>
public sealed class QuadTimeoutTests(QuadTimeoutServer server, ITestOutputHelper output) : IClassFixture<QuadTimeoutServer>
{
    private static byte[] Header(uint length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);
        return header;
    }

    private async Task<string> LoginAsync(QuadUser user) =>
        (await server.SendAsync(QuadClient.Sign(server.Login(user), user.Key, server.Now))).GetProperty("status").GetString()!;

    [Fact]
    public async Task A_connection_that_sends_nothing_is_closed_after_the_idle_timeout_without_a_word()
    {
        await using var client = await server.ConnectAsync();
        var watch = Stopwatch.StartNew();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Null(await QuadClient.ReadFrameAsync(client.Stream, limit.Token));
        output.WriteLine($"closed after {watch.Elapsed.TotalSeconds:F2} s (idle timeout {QuadTimeoutServer.Idle.TotalSeconds} s)");
        Assert.InRange(watch.Elapsed, QuadTimeoutServer.Idle - TimeSpan.FromMilliseconds(100), QuadTimeoutServer.Idle + TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_connection_idle_after_a_reply_is_closed_too()
    {
        var user = await server.RegisterAsync("idle-" + Guid.NewGuid().ToString("N")[..8]);
        await using var client = await server.ConnectAsync();
        var reply = await client.SendAsync(QuadClient.Sign(server.Login(user), user.Key, server.Now), CancellationToken.None);
        Assert.Equal("ok", reply.GetProperty("status").GetString());
        var watch = Stopwatch.StartNew();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Null(await QuadClient.ReadFrameAsync(client.Stream, limit.Token));
        Assert.InRange(watch.Elapsed, QuadTimeoutServer.Idle - TimeSpan.FromMilliseconds(100), QuadTimeoutServer.Idle + TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_slow_loris_frame_is_cut_off_at_the_frame_timeout_while_another_client_signs_in()
    {
        var user = await server.RegisterAsync("loris-" + Guid.NewGuid().ToString("N")[..8]);
        var buffers = server.Services.GetRequiredService<QuadBuffers>();
        await using var loris = await server.ConnectAsync();
        // A 1 MiB frame announced, then one byte every 200 ms: each byte resets no timer.
        await loris.Stream.WriteAsync(Header(1024 * 1024));
        await loris.Stream.FlushAsync();
        var watch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var trickle = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await loris.Stream.WriteAsync("{"u8.ToArray(), stop.Token);
                    await loris.Stream.FlushAsync(stop.Token);
                    await Task.Delay(200, stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // Cut off by the server, or stopped by the test.
            }
        });
        // Meanwhile another client is served at once.
        Assert.Equal("ok", await LoginAsync(user));
        Assert.Equal(1024 * 1024, buffers.Held);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reply = await QuadClient.ReadFrameAsync(loris.Stream, limit.Token);
        var elapsed = watch.Elapsed;
        await stop.CancelAsync();
        await trickle;
        output.WriteLine($"slow frame cut off after {elapsed.TotalSeconds:F2} s (frame timeout {QuadTimeoutServer.PerFrame.TotalSeconds} s)");
        Assert.NotNull(reply);
        var error = JsonDocument.Parse(reply).RootElement;
        Assert.Equal("bad_request", error.GetProperty("error").GetString());
        Assert.Contains("did not arrive in time", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.InRange(elapsed, QuadTimeoutServer.PerFrame - TimeSpan.FromMilliseconds(300), QuadTimeoutServer.PerFrame + TimeSpan.FromSeconds(15));
        Assert.Equal(0, buffers.Held);
    }
}

/// <summary>
/// The memory budget over all connections: many clients each holding a partial 4 MiB frame get no more than the
/// budget, the rest are refused at once, another client signs in meanwhile, and the heap grows by the budget at most.
/// Alone, because it reads the process's managed heap.
/// </summary>
[Collection(QuadRobustnessCollection.Name)]
public sealed class QuadBudgetTests(QuadBudgetServer server, ITestOutputHelper output) : IClassFixture<QuadBudgetServer>
{
    private async Task<string> LoginAsync(QuadUser user) =>
        (await server.SendAsync(QuadClient.Sign(server.Login(user), user.Key, server.Now))).GetProperty("status").GetString()!;

    private static byte[] Header(uint length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);
        return header;
    }

    [Fact]
    public async Task Clients_holding_partial_4_MiB_frames_fill_the_budget_and_no_more_while_another_signs_in()
    {
        var user = await server.RegisterAsync("budget-" + Guid.NewGuid().ToString("N")[..8]);
        var buffers = server.Services.GetRequiredService<QuadBuffers>();
        const int frame = 4 * 1024 * 1024;
        const int holders = 12;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var open = new List<QuadClient>();
        var busy = 0;
        try
        {
            // Twelve clients announce 4 MiB and send half: 48 MiB asked for, room for six.
            var half = new byte[frame / 2];
            Array.Fill(half, (byte)' ');
            for (var i = 0; i < holders; i++)
            {
                var client = await server.ConnectAsync();
                open.Add(client);
                try
                {
                    await client.Stream.WriteAsync(Header(frame));
                    await client.Stream.WriteAsync(half);
                    await client.Stream.FlushAsync();
                }
                catch (IOException)
                {
                    // Refused and closed while still sending: counted below.
                }
            }
            var deadline = Stopwatch.StartNew();
            while (buffers.Held < 6L * frame && deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }
            // Those over the budget were told at once and closed; the rest are held, their frames unfinished.
            foreach (var client in open)
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                try
                {
                    if (await QuadClient.ReadFrameAsync(client.Stream, quick.Token) is { } reply)
                    {
                        Assert.Equal("rate_limited", JsonDocument.Parse(reply).RootElement.GetProperty("error").GetString());
                    }
                    busy++;
                }
                catch (OperationCanceledException)
                {
                    // Held: no reply yet.
                }
                catch (IOException)
                {
                    busy++;
                }
            }
            var held = buffers.Held;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            var heapHolding = GC.GetTotalMemory(forceFullCollection: true);
            // Another client signs in meanwhile: its frame (~100 KiB of photo) fits in the 2 MiB left.
            var login = await LoginAsync(user);
            output.WriteLine($"{holders} clients × 4 MiB announced: {holders - busy} held ({held / 1024 / 1024.0:F1} MiB reserved of a {QuadBudgetServer.Budget / 1024 / 1024} MiB budget), "
                + $"{busy} refused; managed heap {heapBefore / 1024 / 1024.0:F1} MiB before, {heapHolding / 1024 / 1024.0:F1} MiB while held; a login meanwhile: {login}");
            Assert.True(held <= QuadBudgetServer.Budget, $"{held} bytes reserved, over the budget");
            Assert.Equal(6, holders - busy);
            Assert.True(heapHolding - heapBefore < QuadBudgetServer.Budget + 16L * 1024 * 1024,
                $"the heap grew by {(heapHolding - heapBefore) / 1024 / 1024} MiB while {held / 1024 / 1024} MiB of frames were held");
            Assert.Equal("ok", login);
        }
        finally
        {
            foreach (var client in open)
            {
                await client.DisposeAsync();
            }
        }
        var released = Stopwatch.StartNew();
        while (buffers.Held > 0 && released.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(50);
        }
        Assert.Equal(0, buffers.Held);
    }
}
