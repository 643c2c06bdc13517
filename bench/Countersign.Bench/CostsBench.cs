using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using StackExchange.Redis;

/// <summary>
/// What one operation costs a deployment (docs/scaling.md, issue 18): per password sign-in, refresh rotation
/// and authenticated API call, the server's CPU time, the PostgreSQL statements, transactions and rows
/// written, and the Redis commands (publishes apart), each counted at the source — <c>/proc</c> for the
/// server process, <c>pg_stat_statements</c>, Redis's <c>INFO commandstats</c> —
/// over a run of operations from concurrent workers (each with its own account) on one server with PostgreSQL
/// and Redis.
/// </summary>
internal static class CostsBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--operations", "--postgres", "--redis", "--server", "--workers");
        var smoke = options.Smoke;
        var dll = options.Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required");
        var postgres = options.Get("--postgres") ?? throw new ArgumentException("--postgres CONNECTION is required");
        var redisAddress = options.Get("--redis") ?? throw new ArgumentException("--redis HOST:PORT is required");
        var count = smoke ? 8 : int.Parse(options.Get("--operations") ?? "400", CultureInfo.InvariantCulture);
        // Enough to keep the server's cores busy, so its CPU time is the work's and not idle spinning between requests.
        var workers = smoke ? 2 : int.Parse(options.Get("--workers") ?? "8", CultureInfo.InvariantCulture);
        var prefix = $"costs{Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}:";
        var settings = new Dictionary<string, string>
        {
            ["Redis:Configuration"] = redisAddress,
            ["Redis:KeyPrefix"] = prefix,
            ["Defences:RateLimits:Login"] = int.MaxValue.ToString(CultureInfo.InvariantCulture),
            ["Defences:RateLimits:Registration"] = int.MaxValue.ToString(CultureInfo.InvariantCulture),
        };
        await using var server = await Server.StartOnPostgresAsync(dll, postgres, settings, "costs");
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var database = new NpgsqlConnectionStringBuilder(postgres) { Database = server.Database }.ConnectionString;
        await using var db = new NpgsqlConnection(database);
        await db.OpenAsync();
        await Sql(db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        // INFO is an admin command in StackExchange.Redis; the server itself never uses it.
        using var redis = await ConnectionMultiplexer.ConnectAsync(redisAddress + ",allowAdmin=true");

        // One account, session and refresh token per worker, so no two requests share a sign-in.
        var accounts = new List<(string Username, string Password, string Access, string Refresh)>();
        for (var w = 0; w < workers; w++)
        {
            var username = $"costs{w}-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
            var password = "bench " + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + " Kites!";
            (await http.PostAsJsonAsync("/api/accounts", new { username, password })).EnsureSuccessStatusCode();
            var tokens = await Json(await http.PostAsJsonAsync("/api/auth/login", new { username, password }));
            accounts.Add((username, password, tokens.GetProperty("access_token").GetString()!, tokens.GetProperty("refresh_token").GetString()!));
        }

        var operations = new (string Name, Func<int, Task> Run)[]
        {
            ("password sign-in (Argon2id m=19 MiB t=2)", async w =>
                await Json(await http.PostAsJsonAsync("/api/auth/login", new { username = accounts[w].Username, password = accounts[w].Password }))),
            ("refresh rotation", async w =>
            {
                var next = (await Json(await http.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = accounts[w].Refresh })))
                    .GetProperty("refresh_token").GetString()!;
                accounts[w] = accounts[w] with { Refresh = next };
            }),
            ("authenticated API call (GET /api/me, warm node)", async w =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accounts[w].Access);
                (await http.SendAsync(request)).EnsureSuccessStatusCode();
            }),
        };
        async Task RunAllAsync(Func<int, Task> run, int total) =>
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
            {
                for (var i = w; i < total; i += workers)
                {
                    await run(w);
                }
            })));
        Console.WriteLine($"{count} operations of each kind from {workers} concurrent workers after {Math.Max(workers, count / 10)} of warm-up; one server, PostgreSQL + Redis{(smoke ? " (SMOKE: the figures mean nothing)" : "")}");
        Console.WriteLine("| operation | server CPU | PostgreSQL statements | explicit transactions | rows written | PostgreSQL time | Redis commands | of them PUBLISH |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, run) in operations)
        {
            await RunAllAsync(run, Math.Max(workers, count / 10));
            await Sql(db, "SELECT pg_stat_statements_reset()");
            var redisBefore = await CommandStatsAsync(redis);
            var cpuBefore = server.CpuSeconds();
            var clock = Stopwatch.StartNew();
            await RunAllAsync(run, count);
            var elapsed = clock.Elapsed.TotalSeconds;
            var cpu = server.CpuSeconds() - cpuBefore;
            var redisAfter = await CommandStatsAsync(redis);
            var (statements, commits, written, pgMs) = await StatementsAsync(db);
            var redisCalls = redisAfter.Where(kv => kv.Key != "info").Sum(kv => kv.Value - redisBefore.GetValueOrDefault(kv.Key));
            var publishes = redisAfter.GetValueOrDefault("publish") - redisBefore.GetValueOrDefault("publish");
            Console.WriteLine(FormattableString.Invariant(
                $"| {name} | {1000 * cpu / count:F2} ms | {(double)statements / count:F1} | {(double)commits / count:F2} | {(double)written / count:F1} | {pgMs / count:F2} ms | {(double)redisCalls / count:F1} | {(double)publishes / count:F2} |"));
            Console.Error.WriteLine(FormattableString.Invariant($"  {name}: {count / elapsed:F0}/s from {workers} workers"));
        }
        return 0;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task Sql(NpgsqlConnection db, string sql)
    {
        await using var command = new NpgsqlCommand(sql, db);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// From pg_stat_statements (exact, in shared memory, unlike pg_stat_database's per-backend counters that
    /// reach it only now and then), without this bench's own queries: statements other than transaction
    /// control, explicit transactions (COMMITs), rows written by INSERT/UPDATE/DELETE, and execution time.
    /// </summary>
    private static async Task<(long Statements, long Commits, long Written, double Milliseconds)> StatementsAsync(NpgsqlConnection db)
    {
        await using var command = new NpgsqlCommand("""
            SELECT coalesce(sum(calls) FILTER (WHERE query !~* '^\s*(begin|commit|rollback|start transaction)'), 0)::bigint,
                   coalesce(sum(calls) FILTER (WHERE query ~* '^\s*commit'), 0)::bigint,
                   coalesce(sum(rows) FILTER (WHERE query ~* '^\s*(insert|update|delete|merge)'), 0)::bigint,
                   coalesce(sum(total_exec_time), 0)::float8
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT LIKE '%pg_stat%'
            """, db);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(3));
    }

    /// <summary>Calls per Redis command since the server started (INFO commandstats), by lower-case name.</summary>
    private static async Task<Dictionary<string, long>> CommandStatsAsync(ConnectionMultiplexer redis)
    {
        var info = await redis.GetServer(redis.GetEndPoints()[0]).InfoAsync("commandstats");
        var stats = new Dictionary<string, long>();
        foreach (var (key, value) in info.SelectMany(g => g))
        {
            // cmdstat_get -> calls=12,usec=…
            if (key.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var calls = value.Split(',').First(p => p.StartsWith("calls=", StringComparison.Ordinal))[6..];
                stats[key[8..].ToLowerInvariant()] = long.Parse(calls, CultureInfo.InvariantCulture);
            }
        }
        return stats;
    }
}
