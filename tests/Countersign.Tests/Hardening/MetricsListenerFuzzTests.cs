using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Countersign.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Countersign.Tests.Hardening;

/// <summary>
/// The Prometheus scrape listener (issue 17) is a second HTTP server in the process, not Kestrel, so the HTTP fuzzer
/// does not reach it. This one writes seeded raw requests to it over TCP: bad request lines, methods, versions, paths,
/// header blocks, lengths and chunked bodies, truncated requests and plain noise. None may stop the process, take
/// more than 5 s to answer or close, get a 5xx other than 501 and 505, or make the listener stop serving scrapes
/// (what it serves is no secret from whoever reaches its port, so which odd paths it answers is not checked). <c>COUNTERSIGN_FUZZ_SEED</c> replays a run.
/// </summary>
public sealed class MetricsListenerFuzzTests(ITestOutputHelper output)
{
    private const int Requests = 600;
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(5);

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("COUNTERSIGN_FUZZ_SEED"), out var s) ? s : 20261203;

    [Fact]
    public async Task Malformed_requests_to_the_scrape_listener_neither_stop_it_nor_make_it_fail()
    {
        var port = ChildServer.FreePort();
        await using var server = await ChildServer.StartAsync(new Dictionary<string, string>
        {
            ["Metrics:Enabled"] = "true",
            ["Metrics:Port"] = port.ToString(CultureInfo.InvariantCulture),
        });
        using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var scrape = $"http://127.0.0.1:{port}/metrics";
        Assert.Contains("# TYPE ", await scraper.GetStringAsync(scrape), StringComparison.Ordinal);

        var failures = new List<string>();
        var statuses = new Dictionary<string, int>();
        var slowest = TimeSpan.Zero;
        var gate = new Lock();
        var next = -1;
        var scrapes = 0;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Requests && !server.HasExited)
            {
                // One generator per request, so a failing request replays from the seed and its index alone.
                var random = new Random(Seed * 7919 + i);
                var (described, bytes) = Request(random, port);
                var started = Stopwatch.StartNew();
                var (status, body, closed) = await ExchangeAsync(port, bytes);
                var took = started.Elapsed;
                lock (gate)
                {
                    slowest = took > slowest ? took : slowest;
                    statuses[status ?? "none"] = statuses.GetValueOrDefault(status ?? "none") + 1;
                    if (!closed)
                    {
                        failures.Add($"#{i} not answered or closed within {Slow.TotalSeconds:F0} s: {described}");
                    }
                    // 501 (a method or transfer coding it does not implement) and 505 (an HTTP version it does not
                    // speak) are the protocol's own answers to such requests (RFC 9110 §15.6.2, §15.6.6), as Kestrel
                    // gives them; any other 5xx is the listener failing.
                    else if (status is not null && status.StartsWith('5') && status is not ("501" or "505"))
                    {
                        failures.Add($"#{i} {status}: {described}");
                    }
                    if (body.Contains("# TYPE ", StringComparison.Ordinal))
                    {
                        scrapes++;
                    }
                }
            }
        })).ToList();
        await Task.WhenAll(workers);

        output.WriteLine($"seed {Seed}: {Requests} raw requests, {scrapes} of them answered with the metrics, slowest {slowest.TotalMilliseconds:F0} ms, answers: "
            + string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} × {s.Value}")));
        Assert.False(server.HasExited, $"the server exited, seed {Seed}:\n{server.Output}");
        Assert.True(failures.Count == 0, $"seed {Seed}:\n{string.Join('\n', failures.Take(20))}");
        // Still serving, both the scrape and the public port.
        Assert.Contains("# TYPE ", await scraper.GetStringAsync(scrape), StringComparison.Ordinal);
        using var http = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }

    /// <summary>Writes the bytes, closes the sending half, and reads until the listener closes or 5 s pass.</summary>
    private static async Task<(string? Status, string Body, bool Closed)> ExchangeAsync(int port, byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(Slow);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var received = new MemoryStream();
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[16384];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException)
        {
            return (StatusOf(Encoding.Latin1.GetString(received.ToArray())), "", false);
        }
        catch (SocketException)
        {
            // A reset on a request the listener refused to read: an answer of its own.
        }
        var text = Encoding.Latin1.GetString(received.ToArray());
        return (StatusOf(text), text, true);
    }

    private static string? StatusOf(string response) =>
        response.StartsWith("HTTP/", StringComparison.Ordinal) && response.Split(' ', 3) is { Length: >= 2 } parts ? parts[1] : null;

    private static readonly string[] Methods = ["GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PRI", "get", "G\0T", "", "GETGETGETGETGETGETGETGET"];

    private static readonly string[] Paths =
    [
        "/metrics", "/metrics", "/metrics?x=1", "/metrics/", "/METRICS", "/metrics%00", "/metrics/../metrics", "/", "/../../etc/passwd",
        "/%2e%2e/metrics", "*", "http://127.0.0.1/metrics", "metrics", "/metrics#frag", "/m\u00e9trics", "/metrics?" + new string('a', 9000),
        "/" + new string('/', 3000), "", "/%", "/%zz", "/metrics\ttab",
    ];

    private static readonly string[] Versions = ["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.12", "HTTP/x", "", "http/1.1", "HTTP/1.1 extra"];

    private static (string Described, byte[] Bytes) Request(Random random, int port)
    {
        if (random.Next(12) == 0)
        {
            var noise = new byte[random.Next(1, 4096)];
            random.NextBytes(noise);
            return ($"{noise.Length} random bytes", noise);
        }
        var method = Methods[random.Next(Methods.Length)];
        var path = Paths[random.Next(Paths.Length)];
        var version = Versions[random.Next(Versions.Length)];
        var lines = new List<string> { $"{method} {path} {version}" };
        if (random.Next(5) != 0)
        {
            lines.Add(random.Next(6) switch
            {
                0 => "Host: ",
                1 => "Host: a, b",
                2 => "Host: " + new string('h', 5000),
                _ => $"Host: 127.0.0.1:{port}",
            });
        }
        for (var n = random.Next(4); n > 0; n--)
        {
            lines.Add(random.Next(14) switch
            {
                0 => "Content-Length: -1",
                1 => "Content-Length: 99999999999999999999",
                2 => "Content-Length: 5\r\nContent-Length: 7",
                3 => "Transfer-Encoding: chunked",
                4 => "Transfer-Encoding: gzip, chunked",
                5 => "Expect: 100-continue",
                6 => "X-Long: " + new string('x', random.Next(1, 70000)),
                7 => "no colon here",
                8 => " folded: header",
                9 => "Accept-Encoding: gzip, br, *",
                10 => "Connection: keep-alive, Upgrade\r\nUpgrade: websocket",
                11 => "Content-Length: 4",
                12 => "Bad\0Name: x",
                _ => "Accept: application/openmetrics-text; version=1.0.0",
            });
        }
        var body = random.Next(4) switch
        {
            0 => "zz\r\nnot a chunk\r\n",
            1 => "4\r\nabcd\r\n0\r\n\r\n",
            2 => new string('b', random.Next(0, 20000)),
            _ => "",
        };
        var separator = random.Next(8) == 0 ? "\n" : "\r\n";
        var text = string.Join(separator, lines) + separator + separator + body;
        // Sometimes the request is cut short: the listener must give up on it, not wait for the rest.
        if (random.Next(8) == 0)
        {
            text = text[..random.Next(text.Length)];
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        return (Clip(text.Replace("\r\n", "⏎", StringComparison.Ordinal)), bytes);
    }

    private static string Clip(string text) => text.Length > 200 ? text[..200] + $"…({text.Length})" : text;
}
