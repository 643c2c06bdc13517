using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

/// <summary>The Countersign server as a child process on a free port (the Release build, not in-process).</summary>
internal sealed class Server : IAsyncDisposable
{
    private readonly Process _process;

    private Server(Process process, Uri baseAddress, TimeSpan readyAfter)
    {
        _process = process;
        BaseAddress = baseAddress;
        ReadyAfter = readyAfter;
    }

    public Uri BaseAddress { get; }

    /// <summary>
    /// From starting the process (<c>dotnet countersign.dll serve</c>, runtime start-up included) to the first
    /// 200 of <c>/health/ready</c>, polled every 10 ms: what an operator or an orchestrator waits for.
    /// </summary>
    public TimeSpan ReadyAfter { get; }

    public int ProcessId => _process.Id;

    /// <summary>
    /// <c>countersign serve</c> on a fresh database of the given PostgreSQL server, with in-memory ephemeral
    /// state, plus <paramref name="settings"/> (configuration keys with <c>:</c>, e.g. <c>Defences:RateLimits:Login</c>).
    /// </summary>
    /// <param name="database">An existing database to share (another node of the same deployment: give it the same
    /// <c>Secrets:*</c> in <paramref name="settings"/>), or null for a fresh one.</param>
    public static async Task<Server> StartOnPostgresAsync(string serverDll, string postgres, IReadOnlyDictionary<string, string> settings, string label,
        string? database = null)
    {
        if (database is null)
        {
            database = "cs_bench_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
            await Psql(postgres, $"CREATE DATABASE {database}");
        }
        var connection = postgres.Replace("Database=postgres", $"Database={database}", StringComparison.Ordinal);
        var environment = new Dictionary<string, string>
        {
            ["COUNTERSIGN__Storage__Provider"] = "Postgres",
            ["COUNTERSIGN__Storage__ConnectionString"] = connection,
            ["COUNTERSIGN__Storage__MigrateAtStart"] = "true",
            ["COUNTERSIGN__Secrets__MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["COUNTERSIGN__Secrets__Peppers__1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["COUNTERSIGN__Audit__AttemptLogPath"] = Path.Combine(Path.GetTempPath(), database + ".jsonl"),
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            environment["COUNTERSIGN__" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        var server = await StartProcessAsync(serverDll, environment, $"{label}: {serverDll}, database {database}");
        server.Database = database;
        return server;
    }

    /// <summary>The PostgreSQL database it runs on, when started by <see cref="StartOnPostgresAsync"/>.</summary>
    public string? Database { get; private set; }

    /// <summary>Starts <c>countersign serve</c> on a free port with the given environment and waits until it is ready.</summary>
    public static async Task<Server> StartProcessAsync(string serverDll, IDictionary<string, string> environment, string description)
    {
        if (!File.Exists(serverDll))
        {
            throw new BenchFailedException($"no server build at {serverDll}");
        }
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
        var started = Stopwatch.StartNew();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        // A fresh connection per probe (no pooled one kept across the server's start), polled finely so the
        // time to ready is measured to ~10 ms; a refused connect costs next to nothing on loopback.
        using var probe = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = baseAddress };
        while (started.Elapsed < TimeSpan.FromSeconds(30) && !process.HasExited)
        {
            try
            {
                using var response = await probe.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var readyAfter = started.Elapsed;
                    Console.WriteLine(FormattableString.Invariant($"server pid {process.Id} on {baseAddress}, ready after {readyAfter.TotalSeconds:F2} s, {description}"));
                    return new Server(process, baseAddress, readyAfter);
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(10);
        }
        var exited = process.HasExited ? $"exited with {process.ExitCode}" : "did not become ready in 30 s";
        process.Kill(entireProcessTree: true);
        throw new BenchFailedException($"the server ({description}) {exited}; its output is above");
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
            throw new BenchFailedException($"psql failed: {sql}");
        }
    }

    /// <summary>CPU time the server process has used so far (user + system), from /proc.</summary>
    public double CpuSeconds()
    {
        // Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses; clock ticks of 1/100 s.
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>The server process's resident memory, from /proc.</summary>
    public long ResidentMiB() => ResidentKiB() is var kib and >= 0 ? kib / 1024 : -1;

    /// <summary>The server process's resident memory (VmRSS) in KiB, from /proc.</summary>
    public long ResidentKiB() => ResidentKiB(_process.Id);

    /// <summary>Any process's resident memory (VmRSS) in KiB, from /proc; -1 when it reports none.</summary>
    public static long ResidentKiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}

/// <summary>
/// A run whose figures would not mean what they say (too many failed requests, a server that did not
/// start): the bench stops with this message and a non-zero exit instead of printing numbers.
/// </summary>
internal sealed class BenchFailedException(string message) : Exception(message);
