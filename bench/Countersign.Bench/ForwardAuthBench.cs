using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Countersign.Totp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

/// <summary>
/// <c>/verify/{service}</c> and <c>/forward-auth</c> under wrk, beside two baselines in the same run, rounds interleaved
/// (bare, verify, forward-auth, nginx, bare, ...): a bare Kestrel endpoint that answers 200 (the most any ASP.NET Core
/// endpoint can do here) and nginx <c>auth_request</c> to a location that answers 200 (the proxy's own cost of an auth
/// subrequest). The servers and the bare endpoint run on core 0 (this process is pinned there by bench/forwardauth/run),
/// wrk on core 1. Every request must be a 200: a run with any other answer fails instead of printing figures.
/// Usage: bench/forwardauth/run [--seconds 10] [--rounds 5] [--connections 64] [--warm-up 10] [--smoke]
/// <c>--smoke</c> (scripts/test): one round of 1 s each at 8 connections.
/// </summary>
internal static partial class ForwardAuthBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--connections", "--rounds", "--seconds", "--server", "--warm-up");
        var smoke = options.Smoke;
        var seconds = int.Parse(options.Get("--seconds") ?? (smoke ? "1" : "10"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(options.Get("--rounds") ?? (smoke ? "1" : "5"), CultureInfo.InvariantCulture);
        var connections = int.Parse(options.Get("--connections") ?? (smoke ? "8" : "64"), CultureInfo.InvariantCulture);
        var serverDll = options.Get("--server") ?? "src/Countersign/bin/Release/net10.0/countersign.dll";
        var folder = Directory.CreateTempSubdirectory("countersign-fabench-").FullName;
        try
        {
            await using var bare = await BareKestrelAsync();
            var environment = Environment(folder);
            await using var server = await Server.StartProcessAsync(serverDll, environment, $"SQLite in {folder}");
            var (serviceToken, cookie) = await SetUpAsync(server.BaseAddress, serverDll, environment);
            using var nginx = await NginxAsync(folder);

            var targets = new (string Name, string Url, string[] Headers)[]
            {
                ("bare Kestrel 200", $"http://127.0.0.1:{bare.Port}/", []),
                ("/verify/{service}", new Uri(server.BaseAddress, "/verify/bench").ToString(),
                    [$"Authorization: Bearer {serviceToken}", $"Cookie: __Secure-cs_device={cookie}"]),
                ("/forward-auth", new Uri(server.BaseAddress, "/forward-auth").ToString(),
                    [$"Cookie: __Secure-cs_device={cookie}", "X-Forwarded-Method: GET", "X-Forwarded-Proto: https",
                     "X-Forwarded-Host: bench.example.test", "X-Forwarded-Uri: /page?x=1"]),
                ("nginx auth_request 200", $"http://127.0.0.1:{nginx.Port}/", []),
                // Where the time goes: the same server's cheapest endpoint through the whole pipeline (routing,
                // problem details, security headers, authentication, anti-forgery), which the verify fast path skips.
                ("/health/live (pipeline)", new Uri(server.BaseAddress, "/health/live").ToString(), []),
            };
            // Warm-up: JIT (tiered compilation and dynamic PGO settle over tens of thousands of requests: after 1 s
            // each, round 1 still ran at half the speed of round 3), the verify cache, connection pools.
            var warmUp = smoke ? 1 : int.Parse(options.Get("--warm-up") ?? "10", CultureInfo.InvariantCulture);
            foreach (var t in targets)
            {
                await WrkAsync(t.Url, t.Headers, warmUp, connections);
            }
            var results = targets.ToDictionary(t => t.Name, _ => new List<WrkResult>());
            for (var round = 0; round < rounds; round++)
            {
                foreach (var t in targets)
                {
                    var r = await WrkAsync(t.Url, t.Headers, seconds, connections);
                    results[t.Name].Add(r);
                    Console.WriteLine($"round {round + 1} {t.Name,-24} {r.RequestsPerSecond,10:F0} req/s  p50 {r.P50Ms,6:F2} ms  p99 {r.P99Ms,6:F2} ms");
                }
            }
            Console.WriteLine();
            Console.WriteLine($"medians of {rounds} round(s), {seconds} s each, {connections} connections, server and baselines on core 0, wrk on core 1 (of bare: median of the per-round ratios):");
            // "Of bare" is the median of the per-round ratios: the two runs of a round met the same moment of the shared
            // machine, so a paired ratio is steadier than the ratio of two medians (bare Kestrel alone spreads by 25%
            // from round to round here). bench/run compares builds the same way.
            var bareRounds = results[targets[0].Name];
            foreach (var t in targets)
            {
                var list = results[t.Name];
                var rps = Median(list.Select(r => r.RequestsPerSecond));
                var ofBare = Median(list.Select((r, round) => r.RequestsPerSecond / bareRounds[round].RequestsPerSecond));
                Console.WriteLine($"{t.Name,-24} {rps,10:F0} req/s  ({ofBare:F2} of bare Kestrel)  p50 {Median(list.Select(r => r.P50Ms)),6:F2} ms  p99 {Median(list.Select(r => r.P99Ms)),6:F2} ms");
            }
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static Dictionary<string, string> Environment(string folder) => new()
    {
        ["COUNTERSIGN__Storage__ConnectionString"] = $"Data Source={Path.Combine(folder, "countersign.db")}",
        ["COUNTERSIGN__Secrets__MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["COUNTERSIGN__Secrets__Peppers__1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["COUNTERSIGN__Audit__AttemptLogPath"] = Path.Combine(folder, "attempts.jsonl"),
        ["COUNTERSIGN__LocalAdmin__SocketPath"] = Path.Combine(folder, "admin.sock"),
        ["COUNTERSIGN__Network__TrustedProxies__0"] = "127.0.0.1",
        // The quad-factor listener (on by default in embedded mode) is not measured here and its fixed port may be taken.
        ["COUNTERSIGN__QuadFactor__Enabled"] = "false",
        ["COUNTERSIGN__Defences__RateLimits__Enabled"] = "false",
        // One client at 64 connections is not an attack; the connection cap per address would refuse it.
        ["COUNTERSIGN__Connections__MaxConnectionsPerClient"] = "0",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    /// <summary>An admin (CLI), a service, a user with TOTP and a device with a grant, as an operator and a user would.</summary>
    private static async Task<(string ServiceToken, string Cookie)> SetUpAsync(Uri baseAddress, string serverDll, Dictionary<string, string> environment)
    {
        const string password = "violet Anchor 7 drifting kites";
        var cli = Process.Start(new ProcessStartInfo("dotnet", [serverDll, "users", "add", "benchadmin", "--password", password, "--admin"])
        {
            RedirectStandardOutput = true,
        }.WithEnvironment(environment))!;
        await cli.WaitForExitAsync();
        if (cli.ExitCode != 0) throw new BenchFailedException("users add benchadmin failed");
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = baseAddress };
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        async Task<JsonElement> Json(HttpResponseMessage r, HttpStatusCode expected)
        {
            if (r.StatusCode != expected) throw new BenchFailedException($"{r.RequestMessage?.RequestUri} answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            var text = await r.Content.ReadAsStringAsync();
            return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }
        async Task<string> Login(string name) =>
            (await Json(await http.PostAsJsonAsync("/api/auth/login", new { username = name, password }, options), HttpStatusCode.OK)).GetProperty("access_token").GetString()!;
        HttpRequestMessage As(HttpMethod method, string path, string token, object? body = null) => new(method, path)
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
            Content = body is null ? null : JsonContent.Create(body, options: options),
        };

        var admin = await Login("benchadmin");
        var service = await Json(await http.SendAsync(As(HttpMethod.Post, "/api/admin/services", admin, new { name = "bench", host = "bench.example.test" })),
            HttpStatusCode.Created);
        await Json(await http.PostAsJsonAsync("/api/accounts", new { username = "benchuser", password }, options), HttpStatusCode.Created);
        var user = await Login("benchuser");
        var secret = Base32((await Json(await http.SendAsync(As(HttpMethod.Post, "/api/me/totp", user)), HttpStatusCode.OK)).GetProperty("secret").GetString()!);
        if (Rfc6238.Period - DateTimeOffset.UtcNow.ToUnixTimeSeconds() % Rfc6238.Period < 4)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        var step = Rfc6238.StepAt(DateTimeOffset.UtcNow);
        await Json(await http.SendAsync(As(HttpMethod.Post, "/api/me/totp/confirm", user, new { code = Rfc6238.Code(secret, step - 1) })), HttpStatusCode.OK);
        var device = await http.PostAsJsonAsync("/api/devices", new { username = "benchuser", totp_code = Rfc6238.Code(secret, step), name = "bench" }, options);
        await Json(device, HttpStatusCode.NoContent);
        var cookie = device.Headers.GetValues("Set-Cookie").Single(h => h.StartsWith("__Secure-cs_device=", StringComparison.Ordinal)).Split(';')[0].Split('=', 2)[1];
        await Json(await http.SendAsync(As(HttpMethod.Post, "/api/admin/grants", admin, new { user = "benchuser", service = "bench" })), HttpStatusCode.NoContent);
        return (service.GetProperty("token").GetString()!, cookie);
    }

    private static ProcessStartInfo WithEnvironment(this ProcessStartInfo info, Dictionary<string, string> environment)
    {
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        return info;
    }

    private static byte[] Base32(string text) => OtpNet.Base32Encoding.ToBytes(text);

    private sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms);

    private static async Task<WrkResult> WrkAsync(string url, string[] headers, int seconds, int connections)
    {
        var args = new List<string> { "-c", "1", "wrk", "-t", "2", "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "--latency" };
        foreach (var header in headers)
        {
            args.Add("-H");
            args.Add(header);
        }
        args.Add(url);
        using var wrk = Process.Start(new ProcessStartInfo("taskset", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        if (wrk.ExitCode != 0) throw new BenchFailedException($"wrk failed on {url}: {output}{await wrk.StandardError.ReadToEndAsync()}");
        if (NonSuccess().Match(output) is { Success: true } bad) throw new BenchFailedException($"{url}: {bad.Groups[1].Value} answers were not 2xx:\n{output}");
        if (Errors().Match(output) is { Success: true } errors) throw new BenchFailedException($"{url}: socket errors ({errors.Value}):\n{output}");
        return new(double.Parse(Rps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture), Latency(output, "50"), Latency(output, "99"));
    }

    private static double Latency(string output, string percentile)
    {
        var m = Regex.Match(output, $@"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success) throw new BenchFailedException($"no {percentile}% line in wrk's output:\n{output}");
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex Rps();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: [^\n]+")]
    private static partial Regex Errors();

    private sealed class Listener(WebApplication app, int port) : IAsyncDisposable
    {
        public int Port { get; } = port;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>The baseline: Kestrel with one endpoint that answers 200 and nothing else in the pipeline.</summary>
    private static async Task<Listener> BareKestrelAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/", () => Results.Ok());
        await app.StartAsync();
        return new(app, new Uri(app.Urls.First()).Port);
    }

    private sealed class Nginx(Process process, int port) : IDisposable
    {
        public int Port { get; } = port;

        public void Dispose()
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            process.Dispose();
        }
    }

    /// <summary>The peer: nginx, one worker, auth_request to an internal location that answers 200, then a static 200.</summary>
    private static async Task<Nginx> NginxAsync(string folder)
    {
        var dir = Directory.CreateDirectory(Path.Combine(folder, "nginx")).FullName;
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await File.WriteAllTextAsync(Path.Combine(dir, "nginx.conf"), $$"""
            daemon off;
            worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{dir}}/body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                server {
                    listen 127.0.0.1:{{port}};
                    location / { auth_request /auth; return 200 "ok"; }
                    location = /auth { internal; return 200; }
                }
            }
            """);
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/nginx", ["-e", Path.Combine(dir, "error.log"), "-p", dir, "-c", Path.Combine(dir, "nginx.conf")]))!;
        for (var i = 0; i < 50; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return new(process, port);
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new BenchFailedException("nginx did not start: " + (File.Exists(Path.Combine(dir, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(dir, "error.log")) : ""));
    }
}
