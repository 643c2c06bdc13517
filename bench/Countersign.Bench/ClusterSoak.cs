using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.SignalR.Client;
using SkiaSharp;

/// <summary>
/// The soak of issue 17: the same mixed load as the fault phases (<see cref="ClusterBench"/>), for minutes, with
/// nothing injected. Every few seconds it samples each node's resident memory (VmRSS in /proc); per minute it
/// reports operations, failures, login latency (p50, p99) and memory (the mean of the minute's samples), writes them as
/// CSV, and draws them (PNG). Goals: no failed operation, each node's RSS in the last minute within 10% of its RSS in
/// minute 5, every hub client connected at the end, and login p99 of the
/// last five minutes at most 1.25 × that of minutes 5–10 (no upward trend).
/// </summary>
internal static class ClusterSoak
{
    private sealed record Sample(DateTime At, int Node, double RssMiB);

    private sealed record Bucket(double Minute, int Ops, int Failed, double LoginP50, double LoginP99, double RefreshP99,
        int HubsConnected, IReadOnlyList<double> Rss);

    public static async Task<bool> RunAsync(string dir, int nodes, double minutes, TimeSpan sampleEvery, bool judge,
        ConcurrentQueue<ClusterBench.Op> ops, IReadOnlyList<ClusterBench.HubClient> hubs, string csvPath, string plotPath)
    {
        var from = DateTime.UtcNow;
        var until = from + TimeSpan.FromMinutes(minutes);
        var samples = new List<Sample>();
        var hubSamples = new List<(DateTime At, int Connected)>();
        while (DateTime.UtcNow < until)
        {
            var at = DateTime.UtcNow;
            for (var node = 1; node <= nodes; node++)
            {
                samples.Add(new(at, node, RssMiB(Path.Combine(dir, $"node{node}", "pid"))));
            }
            hubSamples.Add((at, hubs.Count(h => h.Connection.State == HubConnectionState.Connected)));
            var wait = until - DateTime.UtcNow;
            await Task.Delay(wait < sampleEvery ? (wait > TimeSpan.Zero ? wait : TimeSpan.Zero) : sampleEvery);
        }
        var to = DateTime.UtcNow;
        var window = ops.Where(o => o.At >= from && o.At < to).ToList();

        // Minutes, or sixths of a run shorter than two minutes (the smoke run), so the table always has rows.
        var bucket = minutes >= 2 ? TimeSpan.FromMinutes(1) : (to - from) / 6;
        var buckets = new List<Bucket>();
        for (var start = from; start < to - bucket / 2; start += bucket)
        {
            var end = start + bucket;
            var inBucket = window.Where(o => o.At >= start && o.At < end).ToList();
            // The mean of the bucket's samples: one sample swings by ±10% with the GC's heap decisions.
            var rss = Enumerable.Range(1, nodes).Select(n => samples.Where(s => s.Node == n && s.At >= start && s.At < end)
                .Select(s => s.RssMiB).DefaultIfEmpty(0).Average()).ToList();
            buckets.Add(new(
                (end - from).TotalMinutes,
                inBucket.Count,
                inBucket.Count(o => o.Status is < 200 or >= 300),
                Percentile(inBucket.Where(o => o.Kind != "refresh"), 0.50),
                Percentile(inBucket.Where(o => o.Kind != "refresh"), 0.99),
                Percentile(inBucket.Where(o => o.Kind == "refresh"), 0.99),
                hubSamples.Where(h => h.At >= start && h.At < end).Select(h => h.Connected).DefaultIfEmpty(0).Min(),
                rss));
        }

        Console.WriteLine($"soak: {minutes:0.##} min of the mixed load on {nodes} nodes, memory sampled every {sampleEvery.TotalSeconds:0.#} s");
        Console.WriteLine($"{"minute",7} {"ops",7} {"failed",7} {"login p50",10} {"login p99",10} {"refresh p99",12} {"hubs up",8}  RSS MiB per node");
        foreach (var b in buckets)
        {
            Console.WriteLine($"{b.Minute,7:F2} {b.Ops,7} {b.Failed,7} {b.LoginP50,8:F1}ms {b.LoginP99,8:F1}ms {b.RefreshP99,10:F1}ms {b.HubsConnected,5}/{hubs.Count,-2}  " +
                              string.Join(" ", b.Rss.Select(r => r.ToString("F0", CultureInfo.InvariantCulture))));
        }
        var failures = window.Where(o => o.Status is < 200 or >= 300).GroupBy(o => $"{o.Status} {o.Error}")
            .Select(g => $"{g.Key} ×{g.Count()}").ToList();
        var restarts = hubs.Sum(h => h.Restarts);
        Console.WriteLine($"operations: {window.Count}, failed: {window.Count - window.Count(o => o.Status is >= 200 and < 300)}" +
                          (failures.Count == 0 ? "" : $" ({string.Join(", ", failures)})"));
        Console.WriteLine($"hub clients: {hubs.Count}, words received {hubs.Sum(h => h.Words)}, reconnected {hubs.Sum(h => h.Reconnects)} times, " +
                          $"started again after a close {restarts} times, failed to start again {hubs.Sum(h => h.FailedRestarts)} times");
        var troubles = hubs.SelectMany(h => h.Troubles).Order(StringComparer.Ordinal).ToList();
        foreach (var trouble in troubles.Take(20))
        {
            Console.WriteLine("    " + trouble);
        }
        if (troubles.Count > 20)
        {
            Console.WriteLine($"    … {troubles.Count - 20} more; the last: {troubles[^1]}");
        }

        await WriteCsvAsync(csvPath, nodes, buckets);
        Plot(plotPath, nodes, buckets, minutes);
        Console.WriteLine($"soak table: {csvPath}; plot: {plotPath}");

        var failed = failures.Count > 0 || hubs.Any(h => h.FailedRestarts > 0);
        if (!judge || minutes < 10)
        {
            return failed; // the goals compare minute 5 with the last minutes: they need a run of ten or more
        }
        // The goals, from minute 5 on (the first minutes fill caches, pools and the JIT's tiers).
        // Minute 5 is the bucket that ends there; the last minute is the last bucket (each the mean of its samples).
        var five = buckets.First(b => b.Minute >= 5 - 1e-6);
        for (var node = 0; node < nodes; node++)
        {
            var ratio = five.Rss[node] == 0 ? double.NaN : buckets[^1].Rss[node] / five.Rss[node];
            Console.WriteLine($"node {node + 1}: RSS {five.Rss[node]:F0} MiB in minute 5, {buckets[^1].Rss[node]:F0} MiB in the last minute: {ratio:F3} (goal ≤ 1.10)");
            failed |= !(ratio <= 1.10);
        }
        var early = Percentile(window.Where(o => o.Kind != "refresh" && o.At >= from + TimeSpan.FromMinutes(5) && o.At < from + TimeSpan.FromMinutes(10)), 0.99);
        var late = Percentile(window.Where(o => o.Kind != "refresh" && o.At >= to - TimeSpan.FromMinutes(5)), 0.99);
        Console.WriteLine($"login p99: {early:F1} ms in minutes 5–10, {late:F1} ms in the last 5: {late / early:F2} (goal ≤ 1.25)");
        failed |= !(late / early <= 1.25);
        var connectedAtEnd = hubs.Count(h => h.Connection.State == HubConnectionState.Connected);
        Console.WriteLine($"hub clients connected at the end: {connectedAtEnd} of {hubs.Count}");
        failed |= connectedAtEnd < hubs.Count;
        return failed;
    }

    private static double RssMiB(string pidFile)
    {
        try
        {
            return Math.Max(0, Server.ResidentKiB(int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture)) / 1024.0);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0; // the node is not running: plotted as 0, which the memory goal reads as a failure
        }
    }

    private static double Percentile(IEnumerable<ClusterBench.Op> ops, double p)
    {
        var ms = ops.Select(o => (o.Done - o.At).TotalMilliseconds).Order().ToList();
        return ms.Count == 0 ? 0 : ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(p * ms.Count) - 1)];
    }

    private static async Task WriteCsvAsync(string path, int nodes, List<Bucket> buckets)
    {
        var csv = new StringBuilder("minute,ops,failed,login_p50_ms,login_p99_ms,refresh_p99_ms,hubs_connected");
        for (var node = 1; node <= nodes; node++)
        {
            csv.Append(CultureInfo.InvariantCulture, $",rss_node{node}_mib");
        }
        csv.AppendLine();
        foreach (var b in buckets)
        {
            csv.AppendLine(string.Join(',', new[] { b.Minute, b.Ops, b.Failed, b.LoginP50, b.LoginP99, b.RefreshP99, b.HubsConnected }
                .Concat(b.Rss).Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture).ToString("0.##", CultureInfo.InvariantCulture))));
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(path, csv.ToString());
    }

    /// <summary>Two panels over the run's minutes: each node's RSS, and login latency p50 and p99.</summary>
    private static void Plot(string path, int nodes, List<Bucket> buckets, double minutes)
    {
        const int Width = 1000, Height = 640, Left = 80, Right = 150, PanelHeight = 230;
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        // Debian's DejaVu (scripts/test installs fonts-dejavu-core); SkiaSharp's dependency-free native build has no font lookup.
        using var typeface = SKTypeface.FromFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") ?? SKTypeface.Default;
        using var font = new SKFont(typeface, 14);
        using var small = new SKFont(typeface, 12);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xDD, 0xDD, 0xDD), StrokeWidth = 1 };
        SKColor[] colours = [new(0x1F, 0x77, 0xB4), new(0xD6, 0x27, 0x28), new(0x2C, 0xA0, 0x2C), new(0x94, 0x67, 0xBD), new(0xFF, 0x7F, 0x0E)];
        var maxMinute = Math.Max(minutes, buckets.Count == 0 ? 1 : buckets[^1].Minute);
        canvas.DrawText($"Soak: {minutes:0.##} min of mixed load on {nodes} nodes behind nginx", Left, 24, SKTextAlign.Left, font, ink);

        void Panel(int top, string title, string unit, IReadOnlyList<(string Label, SKColor Colour, double[] Values)> series)
        {
            var max = Math.Max(1, series.SelectMany(s => s.Values).DefaultIfEmpty(1).Max()) * 1.15;
            var plotWidth = Width - Left - Right;
            float X(double minute) => (float)(Left + minute / maxMinute * plotWidth);
            float Y(double v) => (float)(top + PanelHeight - v / max * PanelHeight);
            canvas.DrawText(title, Left, top - 8, SKTextAlign.Left, font, ink);
            for (var i = 0; i <= 4; i++)
            {
                var v = max * i / 4;
                canvas.DrawLine(Left, Y(v), Left + plotWidth, Y(v), grid);
                canvas.DrawText($"{v:0} {unit}", Left - 6, Y(v) + 4, SKTextAlign.Right, small, ink);
            }
            for (var i = 0; i <= 6; i++)
            {
                var m = maxMinute * i / 6;
                canvas.DrawText(m.ToString(maxMinute >= 6 ? "0" : "0.#", CultureInfo.InvariantCulture), X(m), top + PanelHeight + 16, SKTextAlign.Center, small, ink);
            }
            canvas.DrawText("minute", Left + plotWidth, top + PanelHeight + 32, SKTextAlign.Right, small, ink);
            for (var s = 0; s < series.Count; s++)
            {
                using var line = new SKPaint { Color = series[s].Colour, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
                for (var i = 1; i < buckets.Count; i++)
                {
                    canvas.DrawLine(X(buckets[i - 1].Minute), Y(series[s].Values[i - 1]), X(buckets[i].Minute), Y(series[s].Values[i]), line);
                }
                using var swatch = new SKPaint { Color = series[s].Colour };
                canvas.DrawRect(Left + plotWidth + 16, top + 10 + s * 20, 12, 12, swatch);
                canvas.DrawText(series[s].Label, Left + plotWidth + 34, top + 21 + s * 20, SKTextAlign.Left, small, ink);
            }
        }

        Panel(60, "Resident memory (RSS) per node", "MiB",
            [.. Enumerable.Range(0, nodes).Select(n => ($"node {n + 1}", colours[n % colours.Length],
                buckets.Select(b => n < b.Rss.Count ? b.Rss[n] : 0).ToArray()))]);
        Panel(60 + PanelHeight + 80, "Login latency per minute", "ms",
            [("p50", colours[0], buckets.Select(b => b.LoginP50).ToArray()), ("p99", colours[1], buckets.Select(b => b.LoginP99).ToArray())]);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
