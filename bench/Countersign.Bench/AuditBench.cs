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
/// spent waiting for the chain. Each configuration starts fresh server processes, so each is warmed up until
/// its rate stops rising (<see cref="WarmUpAsync"/>) before any row is measured.
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
        var options = new BenchArgs(args, "--chains", "--postgres", "--processes", "--rounds", "--seconds", "--server", "--warmup", "--warmup-max", "--writers");
        var smoke = options.Smoke;
        var dll = options.Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required");
        var postgres = options.Get("--postgres") ?? throw new ArgumentException("--postgres CONNECTION is required");
        var seconds = smoke ? 1 : int.Parse(options.Get("--seconds") ?? "10", CultureInfo.InvariantCulture);
        // The smoke run takes the path with most parts (two servers on one database, many chains) once.
        var writers = smoke ? [2] : Numbers(options.Get("--writers") ?? "1,4,16");
        var chainCounts = smoke ? [16] : Numbers(options.Get("--chains") ?? "1,16");
        var processes = smoke ? [2] : Numbers(options.Get("--processes") ?? "1,2");
        var warmUp = smoke ? 0 : int.Parse(options.Get("--warmup") ?? "30", CultureInfo.InvariantCulture);
        var warmUpMax = smoke ? 0 : int.Parse(options.Get("--warmup-max") ?? "180", CultureInfo.InvariantCulture);
        var rounds = smoke ? 1 : Math.Max(1, int.Parse(options.Get("--rounds") ?? "3", CultureInfo.InvariantCulture));
        await using (var probe = new NpgsqlConnection(postgres))
        {
            await probe.OpenAsync();
            await using var show = new NpgsqlCommand("SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')", probe);
            Console.WriteLine($"cores: {Environment.ProcessorCount}; PostgreSQL fsync/synchronous_commit: {await show.ExecuteScalarAsync()}; {rounds} rounds of {seconds} s per writer count (the median) after each configuration's warm-up (at least {warmUp} s, until the rate stops rising, at most {warmUpMax} s){(smoke ? " (SMOKE: the figures mean nothing)" : "")}");
        }
        Console.WriteLine("| audit chains | server processes | writers | audited events/s | mean time per event | waiting for a chain lock | warmed up for |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        // Before and after side by side for each node count, so that load from anything else on the machine
        // falls on both alike.
        foreach (var count in processes)
        {
            foreach (var chains in chainCounts)
            {
                await MeasureAsync(dll, postgres, chains, count, writers, (seconds, rounds), (warmUp, Math.Max(warmUp, warmUpMax)));
            }
        }
        return 0;
    }

    private static int[] Numbers(string list) => [.. list.Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).Distinct()];

    private static async Task MeasureAsync(string dll, string postgres, int chains, int processCount, int[] writerCounts,
        (int Seconds, int Rounds) rows, (int Min, int Max) warmUp)
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
            var warmedUp = await WarmUpAsync(clients, tokens, writerCounts.Max(), warmUp, database, $"chains={chains}, {processCount} process(es)");
            // Rounds of every writer count in turn, so that a slow spell of the shared machine falls on all of
            // them alike; each row is the median round (by events/s).
            var results = writerCounts.ToDictionary(w => w, _ => new List<(double PerSecond, double Waiting)>());
            for (var round = 0; round < rows.Rounds; round++)
            {
                foreach (var writers in writerCounts)
                {
                    results[writers].Add(await LoadAsync(clients, tokens, writers, rows.Seconds, database));
                }
            }
            foreach (var writers in writerCounts)
            {
                var (perSecond, waiting) = results[writers].OrderBy(r => r.PerSecond).ElementAt(rows.Rounds / 2);
                Console.Error.WriteLine(FormattableString.Invariant(
                    $"rounds chains={chains}, {processCount} process(es), {writers} writers: {string.Join(", ", results[writers].Select(r => r.PerSecond.ToString("F0", CultureInfo.InvariantCulture)))}/s"));
                Console.WriteLine(FormattableString.Invariant(
                    $"| {chains} | {processCount} | {writers} | {perSecond:F0} | {writers / perSecond * 1000:F2} ms | {100 * waiting / writers:F1}% | {warmedUp} s |"));
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

    /// <summary>
    /// Loads fresh servers with every writer in 5 s windows until the rate stops rising: the mean of the last
    /// two windows less than 5% above the two before, after at least <c>Min</c> seconds (at most <c>Max</c>).
    /// A fixed 10 s was not enough: on two saturated cores tiered JIT and dynamic PGO reach the hot path's
    /// final code only after ~40–60 s (one process, 16 writers, durable commits: 273/s in the first 10 s,
    /// 590–650/s from the 40th second on, docs/benchmarks.md), so the rows measured the compiler, not the
    /// chain. Returns the seconds it took; every window goes to stderr.
    /// </summary>
    private static async Task<int> WarmUpAsync(List<HttpClient> clients, List<string> tokens, int writers, (int Min, int Max) seconds,
        string database, string label)
    {
        const int Window = 5;
        var rates = new List<double>();
        while (rates.Count * Window < seconds.Max)
        {
            rates.Add((await LoadAsync(clients, tokens, writers, Window, database)).PerSecond);
            Console.Error.WriteLine(FormattableString.Invariant($"warm-up {label}: {rates.Count * Window} s, {rates[^1]:F0}/s"));
            if (rates.Count * Window >= seconds.Min && rates.Count >= 4
                && rates[^2..].Average() < 1.05 * rates[^4..^2].Average())
            {
                break;
            }
        }
        return rates.Count * Window;
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
