using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Geralt;

// Throughput of the hot paths, each against its baseline in the same run, A B A B (DESIGN §6):
//   1. raw Argon2id verifications/s vs password logins/s through HTTP at the same parameters;
//   2. refresh-token rotations/s on PostgreSQL.
// The server runs as its own process (the Release build of src/Countersign), the load comes from here.
// Usage: bench/run (starts PostgreSQL, builds, runs this) or
//   dotnet run -c Release --project bench/Countersign.Bench -- --server PATH/countersign.dll --postgres CONN
//     [--seconds 5] [--rounds 3] [--warmup 30] [--only refresh] [--output FILE]

if (args.FirstOrDefault() == "defences")
{
    return await DefencesBench.RunAsync(args[1..]);
}
if (args.FirstOrDefault() == "fanout")
{
    return await FanOutBench.RunAsync(args[1..]);
}
if (args.FirstOrDefault() == "words")
{
    return WordsBench.Run(args[1..]);
}

var options = Options.Parse(args);
var results = new List<(string Name, double PerSecond)>();
Console.WriteLine($"cores: {Environment.ProcessorCount}, rounds: {options.Rounds}, seconds per run: {options.Seconds}");

await using var server = await Server.StartAsync(options);
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = server.BaseAddress };
var password = "bench " + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + " Kites!";
var username = "bench" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
(await http.PostAsJsonAsync("/api/accounts", new { username, password })).EnsureSuccessStatusCode();

if (options.Only is not "refresh")
{
// Warm-up, discarded: JIT tiers, connection pools and PostgreSQL's caches settle before anything counts.
RawArgon2(2);
await LoadAsync(http, options.WarmUp, Environment.ProcessorCount * 4, _ => () => http.PostAsJsonAsync("/api/auth/login", new { username, password }));

for (var round = 1; round <= options.Rounds; round++)
{
    results.Add(("argon2id_verify", RawArgon2(options.Seconds)));
    results.Add(("http_login", await LoadAsync(http, options.Seconds, Environment.ProcessorCount * 4, _ => () =>
        http.PostAsJsonAsync("/api/auth/login", new { username, password }))));
    Report(results, round);
}

}

// Each worker rotates its own session families, as many clients would; a worker's next request
// carries the token the last response gave it. Round 0 is the warm-up, discarded.
for (var round = 0; round <= options.Rounds; round++)
{
    results.Add(("refresh_rotation", await LoadAsync(http, round == 0 ? options.WarmUp : options.Seconds, 16, _ =>
    {
        string? token = null;
        return async () =>
        {
            token ??= (await (await http.PostAsJsonAsync("/api/auth/login", new { username, password })).Content.ReadFromJsonAsync<JsonElement>())
                .GetProperty("refresh_token").GetString();
            var response = await http.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = token });
            token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString();
            return response;
        };
    }, warmUp: true)));
    if (round == 0)
    {
        results.RemoveAt(results.Count - 1);
        continue;
    }
    Report(results, round);
}

var hash = options.Only is "refresh" ? double.NaN : Median(results, "argon2id_verify");
var login = options.Only is "refresh" ? double.NaN : Median(results, "http_login");
var refresh = Median(results, "refresh_rotation");
var summary = new Dictionary<string, object>
{
    ["cores"] = Environment.ProcessorCount,
    ["argon2id"] = "m=19456 KiB, t=2, p=1",
    ["argon2id_verify_per_s_median"] = Math.Round(hash, 1),
    ["http_login_per_s_median"] = Math.Round(login, 1),
    ["login_overhead_ratio"] = Math.Round(hash / login, 3),
    ["refresh_rotations_per_s_median"] = Math.Round(refresh, 1),
    ["runs"] = results.Select(r => new { r.Name, per_s = Math.Round(r.PerSecond, 1) }).ToList(),
};
var json = JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(json);
if (options.Output is { } output)
{
    await File.WriteAllTextAsync(output, json);
}
return 0;

// As many verifications at once as there are cores, the server's own limit (DESIGN §4).
static double RawArgon2(int seconds)
{
    var stored = new char[128];
    var input = RandomNumberGenerator.GetBytes(32);
    Argon2id.ComputeHash(stored, input, 2, 19_456 * 1024);
    var encoded = new string(stored).TrimEnd('\0');
    long count = 0;
    var stopwatch = Stopwatch.StartNew();
    var until = TimeSpan.FromSeconds(seconds);
    Parallel.For(0, Environment.ProcessorCount, _ =>
    {
        while (stopwatch.Elapsed < until)
        {
            if (!Argon2id.VerifyHash(encoded, input))
            {
                throw new InvalidOperationException("verification failed");
            }
            Interlocked.Increment(ref count);
        }
    });
    return count / stopwatch.Elapsed.TotalSeconds;
}

static async Task<double> LoadAsync(HttpClient http, int seconds, int workers, Func<int, Func<Task<HttpResponseMessage>>> makeWorker, bool warmUp = false)
{
    long ok = 0, failed = 0;
    var running = true;
    var actions = Enumerable.Range(0, workers).Select(makeWorker).ToList();
    if (warmUp)
    {
        foreach (var action in actions)
        {
            (await action()).EnsureSuccessStatusCode();
        }
    }
    var stopwatch = Stopwatch.StartNew();
    var tasks = actions.Select(action => Task.Run(async () =>
    {
        while (Volatile.Read(ref running))
        {
            using var response = await action();
            Interlocked.Increment(ref response.IsSuccessStatusCode ? ref ok : ref failed);
        }
    })).ToList();
    await Task.Delay(TimeSpan.FromSeconds(seconds));
    Volatile.Write(ref running, false);
    await Task.WhenAll(tasks);
    if (failed > 0)
    {
        throw new InvalidOperationException($"{failed} requests failed during the run");
    }
    return ok / stopwatch.Elapsed.TotalSeconds;
}

static double Median(List<(string Name, double PerSecond)> results, string name)
{
    var values = results.Where(r => r.Name == name).Select(r => r.PerSecond).Order().ToList();
    return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
}

static void Report(List<(string Name, double PerSecond)> results, int round)
{
    var last = results[^1].Name == "refresh_rotation" ? 1 : 2;
    foreach (var (name, perSecond) in results.TakeLast(last))
    {
        Console.WriteLine(FormattableString.Invariant($"round {round}: {name,-18} {perSecond,10:F1}/s"));
    }
}

internal sealed record Options(string ServerDll, string Postgres, int Seconds, int Rounds, int WarmUp, string? Output, string? Only)
{
    public static Options Parse(string[] args)
    {
        string? Get(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new(
            Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required"),
            Get("--postgres") ?? Environment.GetEnvironmentVariable("COUNTERSIGN_TEST_POSTGRES") ?? throw new ArgumentException("--postgres is required"),
            int.Parse(Get("--seconds") ?? "5", CultureInfo.InvariantCulture),
            int.Parse(Get("--rounds") ?? "3", CultureInfo.InvariantCulture),
            // The server reaches steady state only after tiered JIT and PGO have run for a while (~25 s here).
            int.Parse(Get("--warmup") ?? "30", CultureInfo.InvariantCulture),
            Get("--output"),
            Get("--only"));
    }
}

/// <summary>The Countersign server as a child process on a fresh PostgreSQL database and a free port.</summary>
internal sealed class Server : IAsyncDisposable
{
    private readonly Process _process;

    private Server(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<Server> StartAsync(Options options)
    {
        var database = "cs_bench_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        await Psql(options.Postgres, $"CREATE DATABASE {database}");
        var connection = options.Postgres.Replace("Database=postgres", $"Database={database}", StringComparison.Ordinal);
        return await StartProcessAsync(options.ServerDll, new Dictionary<string, string>
        {
            ["COUNTERSIGN__Storage__Provider"] = "Postgres",
            ["COUNTERSIGN__Storage__ConnectionString"] = connection,
            ["COUNTERSIGN__Storage__MigrateAtStart"] = "true",
            ["COUNTERSIGN__Secrets__MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["COUNTERSIGN__Secrets__Peppers__1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["COUNTERSIGN__Audit__AttemptLogPath"] = Path.Combine(Path.GetTempPath(), database + ".jsonl"),
            ["Logging__LogLevel__Default"] = "Warning",
        }, "database " + database);
    }

    /// <summary>Starts <c>countersign serve</c> on a free port with the given environment and waits until it is ready.</summary>
    public static async Task<Server> StartProcessAsync(string serverDll, IDictionary<string, string> environment, string description)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [serverDll, "serve", "--urls", $"http://127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        using var probe = new HttpClient { BaseAddress = baseAddress };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                if ((await probe.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    Console.WriteLine($"server pid {process.Id} on {baseAddress}, {description}");
                    return new Server(process, baseAddress);
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException("the server did not become ready in 20 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task Psql(string connection, string sql)
    {
        string Part(string key) => connection.Split(';').Select(p => p.Split('=', 2)).First(p => p[0].Equals(key, StringComparison.OrdinalIgnoreCase))[1];
        using var psql = Process.Start(new ProcessStartInfo("psql", ["-h", Part("Host"), "-p", Part("Port"), "-U", Part("Username"), "-d", "postgres", "-c", sql])
        {
            RedirectStandardOutput = true,
        })!;
        await psql.WaitForExitAsync();
        if (psql.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql failed: {sql}");
        }
    }

    /// <summary>The server process's resident memory, from /proc.</summary>
    public long ResidentMiB()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
