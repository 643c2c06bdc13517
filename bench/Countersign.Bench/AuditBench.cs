using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;

/// <summary>
/// The audit chain's ceiling (issue 18): audited writes per second from 1, 4 and 16 concurrent writers, on
/// one server process and on two sharing the database, with the audit spread over one chain (the design
/// before: one lock for the whole cluster, held to commit) and over 16 (<c>Audit:Chains</c>, the default),
/// in one run on PostgreSQL with durable commits. Each writer rotates its own refresh token in a loop: one
/// audited event per request, in the request's transaction. A sampler counts the backends waiting for an
/// advisory lock (the chain's) every 5 ms: their mean over the writers is the share of each event's time
/// spent waiting for the chain.
/// </summary>
internal static class AuditBench
{
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Defences:RateLimits:Login"] = int.MaxValue.ToString(CultureInfo.InvariantCulture),
        ["Defences:RateLimits:Registration"] = int.MaxValue.ToString(CultureInfo.InvariantCulture),
        // Sign-in happens once per writer before the clock starts; its hashing cost is not what is measured.
        ["Passwords:MemoryKiB"] = "1024",
        ["Passwords:Iterations"] = "1",
        ["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["Secrets:Peppers:1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        string? Get(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var smoke = args.Contains("--smoke");
        var dll = Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required");
        var postgres = Get("--postgres") ?? throw new ArgumentException("--postgres CONNECTION is required");
        var seconds = smoke ? 1 : int.Parse(Get("--seconds") ?? "5", CultureInfo.InvariantCulture);
        // The smoke run takes the path with most parts (two servers on one database, many chains) once.
        var writers = smoke ? [2] : Numbers(Get("--writers") ?? "1,4,16");
        var chainCounts = smoke ? [16] : Numbers(Get("--chains") ?? "1,16");
        var processes = smoke ? [2] : Numbers(Get("--processes") ?? "1,2");
        var warmUp = smoke ? 0 : int.Parse(Get("--warmup") ?? "10", CultureInfo.InvariantCulture);
        await using (var probe = new NpgsqlConnection(postgres))
        {
            await probe.OpenAsync();
            await using var show = new NpgsqlCommand("SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')", probe);
            Console.WriteLine($"cores: {Environment.ProcessorCount}; PostgreSQL fsync/synchronous_commit: {await show.ExecuteScalarAsync()}; {seconds} s per run after {warmUp} s of warm-up per configuration{(smoke ? " (SMOKE: the figures mean nothing)" : "")}");
        }
        Console.WriteLine("| audit chains | server processes | writers | audited events/s | mean time per event | waiting for a chain lock |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        // Before and after side by side for each node count, so that load from anything else on the machine
        // falls on both alike.
        foreach (var count in processes)
        {
            foreach (var chains in chainCounts)
            {
                await MeasureAsync(dll, postgres, chains, count, writers, seconds, warmUp);
            }
        }
        return 0;
    }

    private static int[] Numbers(string list) => [.. list.Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture))];

    private static async Task MeasureAsync(string dll, string postgres, int chains, int processCount, int[] writerCounts, int seconds, int warmUp)
    {
        var settings = new Dictionary<string, string>(Settings) { ["Audit:Chains"] = chains.ToString(CultureInfo.InvariantCulture) };
        var servers = new List<Server>();
        var clients = new List<HttpClient>();
        try
        {
            servers.Add(await Server.StartOnPostgresAsync(dll, postgres, settings, $"chains={chains} node 1"));
            for (var i = 1; i < processCount; i++)
            {
                servers.Add(await Server.StartOnPostgresAsync(dll, postgres, settings, $"chains={chains} node {i + 1}", servers[0].Database));
            }
            clients.AddRange(servers.Select(s => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = s.BaseAddress }));
            var database = new NpgsqlConnectionStringBuilder(postgres) { Database = servers[0].Database }.ConnectionString;
            var tokens = new List<string>();
            for (var i = 0; i < writerCounts.Max(); i++)
            {
                tokens.Add(await SignUpAsync(clients[0], i));
            }
            if (warmUp > 0)
            {
                // Tiered JIT and PGO settle only after a while; the first figures would measure them.
                await LoadAsync(clients, tokens, writerCounts.Max(), warmUp, database);
            }
            foreach (var writers in writerCounts)
            {
                var (perSecond, waiting) = await LoadAsync(clients, tokens, writers, seconds, database);
                Console.WriteLine(FormattableString.Invariant(
                    $"| {chains} | {processCount} | {writers} | {perSecond:F0} | {writers / perSecond * 1000:F2} ms | {100 * waiting / writers:F1}% |"));
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static async Task<string> SignUpAsync(HttpClient http, int i)
    {
        var username = $"audit{i:D2}-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var password = "bench " + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + " Kites!";
        (await http.PostAsJsonAsync("/api/accounts", new { username, password })).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync("/api/auth/login", new { username, password });
        login.EnsureSuccessStatusCode();
        return (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString()!;
    }

    /// <summary>
    /// <paramref name="writers"/> loops of refresh rotations for <paramref name="seconds"/>, spread over the
    /// server processes; returns audited events per second (counted in the database), the mean number of
    /// backends waiting for an advisory lock.
    /// </summary>
    private static async Task<(double PerSecond, double Waiting)> LoadAsync(
        List<HttpClient> clients, List<string> tokens, int writers, int seconds, string database)
    {
        await using var db = new NpgsqlConnection(database);
        await db.OpenAsync();
        async Task<long> CountAsync()
        {
            await using var count = new NpgsqlCommand("SELECT count(*) FROM audit_events", db);
            return (long)(await count.ExecuteScalarAsync())!;
        }
        var before = await CountAsync();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var http = clients[w % clients.Count];
            while (!stop.IsCancellationRequested)
            {
                using var response = await http.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = tokens[w] });
                if (!response.IsSuccessStatusCode)
                {
                    throw new BenchFailedException($"a refresh answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
                tokens[w] = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString()!;
            }
        })).ToList();
        long samples = 0, waitingSum = 0;
        await using (var sampler = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'", db))
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                waitingSum += (long)(await sampler.ExecuteScalarAsync())!;
                samples++;
                await Task.Delay(5);
            }
        }
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        var elapsed = clock.Elapsed.TotalSeconds;
        var events = await CountAsync() - before;
        return (events / elapsed, (double)waitingSum / Math.Max(1, samples));
    }
}
