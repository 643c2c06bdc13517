using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Countersign.Tests.Infrastructure;
using Npgsql;

namespace Countersign.Tests.Cluster;

/// <summary>
/// <c>scripts/cluster up</c>: three nodes of this build behind Debian's nginx, round-robin, on a database of its own
/// in scripts/test's PostgreSQL and a key prefix of its own in its Redis. Tests talk to the load balancer as clients
/// do, and to a node directly when they must choose where a request lands.
/// </summary>
public sealed class LocalCluster : IAsyncLifetime
{
    public const string AdminName = "clusteradmin";
    public const string AdminPassword = "violet Anchor 7 drifting kites";

    /// <summary>Defences:RateLimits:Login here: one more than the default 5, so the proof-of-work test's six attempts from one address fit.</summary>
    public const int LoginsPerMinute = 6;

    private static int _lastAddress;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "countersign-cluster-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _database = "cs_cluster_" + Guid.NewGuid().ToString("N");

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<Uri> Nodes { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await using (var postgres = await NpgsqlDataSource.Create(Required.Postgres).OpenConnectionAsync())
        await using (var create = new NpgsqlCommand($"CREATE DATABASE {_database}", postgres))
        {
            await create.ExecuteNonQueryAsync();
        }
        // The script gives each node a pool of its own size.
        var database = new NpgsqlConnectionStringBuilder(Required.Postgres) { Database = _database };
        database.Remove("Maximum Pool Size");
        var up = await ScriptAsync(null, "up", "--dir", _dir, "--port", "0", "--nodes", "3",
            "--postgres", database.ConnectionString, "--redis", Required.Redis,
            "--server", Path.Combine(AppContext.BaseDirectory, "countersign.dll"),
            "--set", $"Redis:KeyPrefix=cluster:{Guid.NewGuid():N}:",
            // Cheap hashing keeps the suite fast, as everywhere in it; the benches use real parameters.
            "--set", "Passwords:MemoryKiB=1024", "--set", "Passwords:Iterations=1",
            // The proof of work after two failures from one address, so a test reaches it in few requests.
            "--set", "Defences:Captcha:AfterFailures=2",
            "--set", $"Defences:RateLimits:Login={LoginsPerMinute}",
            "--set", "CallVerification:Period=00:00:02", "--set", "CallVerification:Grace=00:00:01",
            "--set", "Logging:LogLevel:Default=Warning");
        Assert.True(up.Exit == 0, $"scripts/cluster up failed ({up.Exit}):\n{up.Output}\n{up.Error}");
        var state = File.ReadAllLines(Path.Combine(_dir, "cluster.env"))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Url = new Uri(state["CLUSTER_URL"]);
        Nodes = [.. Enumerable.Range(1, int.Parse(state["NODES"], System.Globalization.CultureInfo.InvariantCulture))
            .Select(i => new Uri(state[$"NODE_{i}_URL"]))];
        var added = await CliAsync(AdminPassword + "\n" + AdminPassword + "\n", "users", "add", AdminName, "--admin");
        Assert.True(added.Exit == 0, added.Error);
    }

    public async Task DisposeAsync()
    {
        var down = await ScriptAsync(null, "down", "--dir", _dir);
        NpgsqlConnection.ClearAllPools();
        await using var admin = await NpgsqlDataSource.Create(Required.Postgres).OpenConnectionAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
        Assert.True(down.Exit == 0, down.Error);
    }

    /// <summary><c>countersign ARGS</c> with the nodes' configuration, as <c>scripts/cluster cli</c> runs it.</summary>
    public Task<(int Exit, string Output, string Error)> CliAsync(string? stdin, params string[] args) =>
        ScriptAsync(stdin, ["cli", "--dir", _dir, .. args]);

    public Task<(int Exit, string Output, string Error)> StopNodeAsync(int node) =>
        ScriptAsync(null, "stop-node", node.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", _dir);

    public Task<(int Exit, string Output, string Error)> StartNodeAsync(int node) =>
        ScriptAsync(null, "start-node", node.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", _dir);

    /// <summary>
    /// A source address of the test's own (127.1.x.y: all of 127/8 is loopback), so every per-address defence
    /// counts this test's requests alone — nginx passes it on as the client address — and the access log tells
    /// which node served them.
    /// </summary>
    public static IPAddress NewAddress()
    {
        var n = Interlocked.Increment(ref _lastAddress);
        return new IPAddress([127, 1, (byte)(n / 250), (byte)(1 + n % 250)]);
    }

    /// <summary>An HTTP client whose connections come from <paramref name="from"/>, to the load balancer or to one node.</summary>
    public HttpClient ClientFrom(IPAddress from, Uri? target = null)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = target ?? Url, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// The nodes (as URLs) that served the requests nginx logged from <paramref name="from"/>, in order, once it has
    /// logged <paramref name="count"/> of them: nginx writes a line just after the answer has gone out, so the
    /// client can be a moment ahead of the log.
    /// </summary>
    public async Task<IReadOnlyList<Uri>> ServedFromAsync(IPAddress from, int count)
    {
        var log = Path.Combine(_dir, "nginx", "access.log");
        for (var i = 0; ; i++)
        {
            var served = File.ReadAllLines(log)
                .Select(l => l.Split(' '))
                .Where(f => f.Length >= 2 && f[0] == from.ToString())
                .Select(f => new Uri("http://" + f[1].TrimEnd(',')))
                .ToList();
            if (served.Count >= count || i == 50)
            {
                Assert.True(served.Count == count, $"nginx logged {served.Count} requests from {from}, not {count}");
                return served;
            }
            await Task.Delay(20);
        }
    }

    private static async Task<(int Exit, string Output, string Error)> ScriptAsync(string? stdin, params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(Repository.Root, "scripts", "cluster"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/cluster {string.Join(' ', args)} took longer than 3 minutes:\n{await error}");
        }
        return (process.ExitCode, await output, await error);
    }
}
