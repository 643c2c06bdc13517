using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Geralt;

/// <summary>
/// Throughput of the password-login path, each figure beside its baseline in the same run, A B A B (DESIGN §6):
///   1. raw Argon2id verifications/s vs password logins/s through HTTP at the same parameters;
///   2. refresh-token rotations/s on PostgreSQL;
///   3. the footprint (FootprintBench): time to ready on a fresh and on a migrated database, idle RSS, and memory
///      per call-verification hub connection at <c>--connections</c> (10,000; 200 in a smoke run).
/// With <c>--server</c> given twice, both builds run side by side on their own databases and every round
/// measures each of them (in alternating order), so a change's effect is a ratio from one run.
/// The servers run as their own processes; the load comes from here.
/// Usage: bench/run, or Countersign.Bench --server [LABEL=]PATH/countersign.dll [--server [LABEL=]PATH] --postgres CONN
///   [--seconds 5] [--rounds 3] [--warmup 30] [--only login|refresh|footprint] [--connections 10000] [--idle 5]
///   [--output FILE] [--smoke] [--max-failed 0.001]
/// </summary>
internal static class LoginBench
{
    private const int RefreshWorkers = 16;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// What the bench server runs with, and why. This measures the password-login path, not the defences
    /// (bench/defences/run does): every request comes from 127.0.0.1, so the per-address limits are raised
    /// out of reach, but they stay enabled, so each login still pays for its counter. Lockout and captcha
    /// keep their defaults: they act on failures, and every bench login is correct; each load worker has an
    /// account of its own, so no account ever sees two sign-ins at once.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Settings = new Dictionary<string, string>
    {
        ["Defences:RateLimits:Login"] = int.MaxValue.ToString(CultureInfo.InvariantCulture),
        ["Defences:RateLimits:Registration"] = int.MaxValue.ToString(CultureInfo.InvariantCulture),
    };

    private static int LoginWorkers => Environment.ProcessorCount * 4;

    public static async Task<int> RunAsync(string[] args)
    {
        var o = LoginOptions.Parse(args);
        Console.WriteLine(FormattableString.Invariant(
            $"cores: {Environment.ProcessorCount}, rounds: {o.Rounds}, seconds per run: {o.Seconds}, warm-up: {o.WarmUp} s, a run fails above {o.MaxFailed:P2} failed requests{(o.Smoke ? " (SMOKE: a check that the bench works; the figures mean nothing)" : "")}"));
        Console.WriteLine("bench server: PostgreSQL (a fresh database per server), in-memory ephemeral state; "
            + string.Join(", ", Settings.Select(s => $"{s.Key}={s.Value}"))
            + " (per minute per address, still counted on every request); lockout and captcha at their defaults (they act on failures: every bench login is correct);"
            + $" one account per load worker ({LoginWorkers} login, {RefreshWorkers} refresh workers). The defences are measured by bench/defences/run.");

        List<FootprintBench.Figures> footprint = [];
        if (o.Only is null or "footprint")
        {
            // First, before the throughput servers exist: start-up is timed on a machine the bench leaves quiet.
            footprint = await FootprintBench.RunAsync(o.Servers, o.Postgres, o.Rounds, o.IdleSeconds, o.Connections, Settings);
        }
        if (o.Only is "footprint")
        {
            return await ReportAsync(o, [], new FailureGate(o.MaxFailed), [], footprint);
        }
        var targets = new List<Target>();
        try
        {
            foreach (var (label, dll) in o.Servers)
            {
                var server = await Server.StartOnPostgresAsync(dll, o.Postgres, Settings, label);
                targets.Add(new Target(label, dll, server));
                await targets[^1].CreateAccountsAsync(Math.Max(LoginWorkers, RefreshWorkers));
            }
            return await MeasureAsync(o, targets, footprint);
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.DisposeAsync();
            }
        }
    }

    private static async Task<int> MeasureAsync(LoginOptions o, List<Target> targets, List<FootprintBench.Figures> footprint)
    {
        var results = new List<Result>();
        var gate = new FailureGate(o.MaxFailed);
        // Each round measures every server; the order alternates so neither always runs first after the hash.
        IEnumerable<Target> InOrder(int round) => round % 2 == 1 ? targets : Enumerable.Reverse(targets);

        if (o.Only is not "refresh")
        {
            // Warm-up, discarded: JIT tiers, connection pools and PostgreSQL's caches settle before anything counts.
            RawArgon2(Math.Min(2, o.WarmUp));
            foreach (var t in targets)
            {
                await gate.LoadAsync($"{t.Label} login warm-up", t.Http, o.WarmUp, LoginWorkers, t.LoginWorker);
            }
            for (var round = 1; round <= o.Rounds; round++)
            {
                results.Add(Report(new("", "argon2id_verify", round, RawArgon2(o.Seconds))));
                foreach (var t in InOrder(round))
                {
                    results.Add(Report(new(t.Label, "http_login", round,
                        await gate.LoadAsync($"{t.Label} http_login round {round}", t.Http, o.Seconds, LoginWorkers, t.LoginWorker))));
                }
            }
        }
        if (o.Only is not "login")
        {
            // Round 0 is the warm-up, discarded.
            for (var round = 0; round <= o.Rounds; round++)
            {
                foreach (var t in InOrder(round))
                {
                    var what = round == 0 ? $"{t.Label} refresh warm-up" : $"{t.Label} refresh_rotation round {round}";
                    var perSecond = await gate.LoadAsync(what, t.Http, round == 0 ? o.WarmUp : o.Seconds, RefreshWorkers, t.RefreshWorker, prime: true);
                    if (round > 0)
                    {
                        results.Add(Report(new(t.Label, "refresh_rotation", round, perSecond)));
                    }
                }
            }
        }

        return await ReportAsync(o, targets, gate, results, footprint);
    }

    private static async Task<int> ReportAsync(LoginOptions o, List<Target> targets, FailureGate gate, List<Result> results, List<FootprintBench.Figures> footprint)
    {
        var hash = Median(results.Where(r => r.Name == "argon2id_verify"));
        var servers = targets.Select(t =>
        {
            var login = Median(results.Where(r => r.Server == t.Label && r.Name == "http_login"));
            return new Dictionary<string, object?>
            {
                ["label"] = t.Label,
                ["server"] = t.Dll,
                ["http_login_per_s_median"] = Round(login, 1),
                ["login_overhead_ratio"] = Round(hash / login, 3),
                ["refresh_rotations_per_s_median"] = Round(Median(results.Where(r => r.Server == t.Label && r.Name == "refresh_rotation")), 1),
            };
        }).ToList();
        var summary = new Dictionary<string, object?>
        {
            ["cores"] = Environment.ProcessorCount,
            ["smoke"] = o.Smoke,
            ["argon2id"] = "m=19456 KiB, t=2, p=1",
            ["bench_server_settings"] = Settings,
            ["requests"] = new { ok = gate.Ok, failed = gate.Failed, failures = gate.Kinds },
            ["argon2id_verify_per_s_median"] = Round(hash, 1),
            ["servers"] = servers,
            ["runs"] = results.Select(r => new { server = r.Server, name = r.Name, round = r.Round, per_s = Round(r.PerSecond, 1) }).ToList(),
        };
        if (footprint.Count > 0)
        {
            summary["footprint"] = footprint.Select(f => new Dictionary<string, object?>
            {
                ["label"] = f.Label,
                ["ready_fresh_database_s_median"] = Round(Median(f.FreshReady), 3),
                ["ready_restart_s_median"] = Round(Median(f.RestartReady), 3),
                ["idle_rss_mib_median"] = Round(Median(f.IdleMiB), 1),
                ["hub_connections"] = f.Connected,
                ["rss_before_connections_mib"] = f.BeforeConnectMiB is { } b ? Round(b, 1) : null,
                ["rss_with_connections_mib"] = f.ConnectedMiB is { } w ? Round(w, 1) : null,
                ["kib_per_hub_connection"] = f.KiBPerConnection is { } k ? Round(k, 1) : null,
                ["ready_fresh_database_s"] = f.FreshReady.Select(v => Round(v, 3)).ToList(),
                ["ready_restart_s"] = f.RestartReady.Select(v => Round(v, 3)).ToList(),
                ["idle_rss_mib"] = f.IdleMiB.Select(v => Round(v, 1)).ToList(),
            }).ToList();
        }

        Console.WriteLine();
        foreach (var f in footprint)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{f.Label}: ready after {Median(f.FreshReady):F2} s on a fresh database (goal ≤ 2 s), {Median(f.RestartReady):F2} s on a restart; idle RSS {Median(f.IdleMiB):F0} MiB (goal ≤ 150 MB)")
                + (f.KiBPerConnection is { } k ? FormattableString.Invariant($"; {k:F1} KiB per hub connection at {f.Connected:N0} (goal ≤ 40 KiB)") : ""));
        }
        if (footprint.Count == 2)
        {
            var (a, b) = (footprint[0], footprint[1]);
            Console.WriteLine(FormattableString.Invariant(
                $"{b.Label} / {a.Label}, footprint: ready (fresh) {Median(b.FreshReady) / Median(a.FreshReady):F3}, ready (restart) {Median(b.RestartReady) / Median(a.RestartReady):F3}, idle RSS {Median(b.IdleMiB) / Median(a.IdleMiB):F3}")
                + (a.KiBPerConnection is { } ka && b.KiBPerConnection is { } kb ? FormattableString.Invariant($", per hub connection {kb / ka:F3}") : ""));
        }
        if (targets.Count > 0)
        {
            Console.WriteLine(FormattableString.Invariant($"median raw argon2id_verify: {hash:F1}/s"));
        }
        foreach (var s in servers)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"{s["label"]}: http_login {s["http_login_per_s_median"]:F1}/s (overhead {s["login_overhead_ratio"]:F3}), refresh_rotation {s["refresh_rotations_per_s_median"]:F1}/s"));
        }
        if (targets.Count == 2)
        {
            // Paired by round: both builds met the same moment of the shared machine, so the ratio of a round
            // is steadier than the ratio of two medians.
            var (a, b) = (targets[0].Label, targets[1].Label);
            var comparison = new Dictionary<string, object?> { ["of"] = $"{b} / {a}" };
            foreach (var name in new[] { "http_login", "refresh_rotation" })
            {
                var ratios = results.Where(r => r.Server == b && r.Name == name)
                    .Join(results.Where(r => r.Server == a && r.Name == name), r => r.Round, r => r.Round, (rb, ra) => rb.PerSecond / ra.PerSecond)
                    .ToList();
                if (ratios.Count == 0)
                {
                    continue;
                }
                comparison[name + "_ratio_median"] = Round(Median(ratios), 3);
                comparison[name + "_ratio_per_round"] = ratios.Select(r => Round(r, 3)).ToList();
                Console.WriteLine(FormattableString.Invariant(
                    $"{b} / {a}, {name}: {Median(ratios):F3} (median of per-round ratios: {string.Join(", ", ratios.Select(r => r.ToString("F3", CultureInfo.InvariantCulture)))})"));
            }
            summary["comparison"] = comparison;
        }
        Console.WriteLine(FormattableString.Invariant($"requests: {gate.Ok:N0} succeeded, {gate.Failed:N0} failed{gate.Describe()}"));

        var json = JsonSerializer.Serialize(summary, Indented);
        Console.WriteLine(json);
        if (o.Output is { } output)
        {
            await File.WriteAllTextAsync(output, json);
        }
        return 0;
    }

    private static Result Report(Result r)
    {
        Console.WriteLine(FormattableString.Invariant($"round {r.Round}: {(r.Server.Length > 0 ? r.Server + " " : "")}{r.Name,-18} {r.PerSecond,10:F1}/s"));
        return r;
    }

    // As many verifications at once as there are cores, the server's own limit (DESIGN §4).
    private static double RawArgon2(int seconds)
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
                    throw new BenchFailedException("a raw Argon2id verification failed");
                }
                Interlocked.Increment(ref count);
            }
        });
        return count / stopwatch.Elapsed.TotalSeconds;
    }

    private static double Median(IEnumerable<Result> results) => Median(results.Select(r => r.PerSecond).ToList());

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToList();
        return (sorted[(sorted.Count - 1) / 2] + sorted[sorted.Count / 2]) / 2;
    }

    private static double? Round(double value, int digits) => double.IsFinite(value) ? Math.Round(value, digits) : null;

    private sealed record Result(string Server, string Name, int Round, double PerSecond);

    /// <summary>One server under test, with its client and accounts.</summary>
    private sealed class Target(string label, string dll, Server server) : IAsyncDisposable
    {
        private readonly List<(string Username, string Password)> _accounts = [];

        public string Label { get; } = label;
        public string Dll { get; } = dll;
        public HttpClient Http { get; } = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = server.BaseAddress };

        public async Task CreateAccountsAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var password = "bench " + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + " Kites!";
                var username = $"bench{i:D2}-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
                using var response = await Http.PostAsJsonAsync("/api/accounts", new { username, password });
                if (!response.IsSuccessStatusCode)
                {
                    throw new BenchFailedException($"{Label}: creating bench account {i + 1} of {count} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
                _accounts.Add((username, password));
            }
        }

        public Func<Task<HttpResponseMessage>> LoginWorker(int worker)
        {
            var (username, password) = _accounts[worker];
            return () => Http.PostAsJsonAsync("/api/auth/login", new { username, password });
        }

        /// <summary>
        /// Rotates its own session family, as one client would: each request carries the token the last
        /// response gave it. After a failure it signs in again (a failed sign-in is what it returns then).
        /// </summary>
        public Func<Task<HttpResponseMessage>> RefreshWorker(int worker)
        {
            var (username, password) = _accounts[worker];
            string? token = null;
            return async () =>
            {
                if (token is null)
                {
                    var login = await Http.PostAsJsonAsync("/api/auth/login", new { username, password });
                    if (!login.IsSuccessStatusCode)
                    {
                        return login;
                    }
                    token = await RefreshTokenAsync(login);
                    login.Dispose();
                }
                var response = await Http.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = token });
                token = response.IsSuccessStatusCode ? await RefreshTokenAsync(response) : null;
                return response;
            };
        }

        private static async Task<string?> RefreshTokenAsync(HttpResponseMessage response) =>
            (await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("refresh_token", out var t) ? t.GetString() : null;

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await server.DisposeAsync();
        }
    }

    private sealed record LoginOptions(
        List<(string Label, string Dll)> Servers, string Postgres, int Seconds, int Rounds, int WarmUp, string? Output, string? Only, bool Smoke, double MaxFailed,
        int Connections, int IdleSeconds)
    {
        public static LoginOptions Parse(string[] args)
        {
            var options = new BenchArgs(args, "--connections", "--idle", "--max-failed", "--only", "--output", "--postgres", "--rounds", "--seconds", "--server", "--warmup");
            var servers = args.Select((a, i) => (a, i)).Where(x => x.a == "--server" && x.i + 1 < args.Length).Select(x => args[x.i + 1]).ToList();
            if (servers.Count is 0 or > 2)
            {
                throw new ArgumentException("--server [LABEL=]PATH/countersign.dll is required, once or twice (to compare two builds)");
            }
            var labelled = servers.Select((s, i) => s.Split('=', 2) is [var label, var path] && !label.Contains('/', StringComparison.Ordinal)
                ? (label, path)
                : (servers.Count == 1 ? "server" : ((char)('A' + i)).ToString(), s)).ToList();
            if (labelled.Count == 2 && labelled[0].Item1 == labelled[1].Item1)
            {
                throw new ArgumentException("the two servers need different labels (--server LABEL=PATH)");
            }
            var only = options.Get("--only");
            if (only is not (null or "login" or "refresh" or "footprint"))
            {
                throw new ArgumentException("--only takes login, refresh or footprint");
            }
            var smoke = options.Smoke;
            int Number(string name, int normal, int inSmoke) => int.Parse(options.Get(name) ?? (smoke ? inSmoke : normal).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            return new(
                labelled,
                options.Get("--postgres") ?? Environment.GetEnvironmentVariable("COUNTERSIGN_TEST_POSTGRES") ?? throw new ArgumentException("--postgres is required"),
                Number("--seconds", 5, 1),
                Number("--rounds", 3, 1),
                // The server reaches steady state only after tiered JIT and PGO have run for a while (~25 s here).
                Number("--warmup", 30, 1),
                options.Get("--output"),
                only,
                smoke,
                double.Parse(options.Get("--max-failed") ?? "0.001", CultureInfo.InvariantCulture),
                // The goal's size; a smoke run opens enough to check the measurement works (scripts/test runs it).
                Number("--connections", 10_000, 200),
                // "RSS after ready plus a few idle seconds": the start-up garbage has had its GCs by then.
                Number("--idle", 5, 1));
        }
    }
}

/// <summary>
/// Drives load and keeps count of what failed, by status code; a load whose failures exceed the allowed
/// fraction (or that got nothing through) stops the bench. A bench that counts refusals as throughput
/// reports nonsense: it once ran 654,362 rate-limited logins and printed figures.
/// </summary>
internal sealed class FailureGate(double maxFailed)
{
    private readonly ConcurrentDictionary<string, long> _kinds = new();
    private long _ok;
    private long _failed;

    public long Ok => Interlocked.Read(ref _ok);
    public long Failed => Interlocked.Read(ref _failed);
    public IReadOnlyDictionary<string, long> Kinds => new SortedDictionary<string, long>(_kinds);

    public string Describe(IReadOnlyDictionary<string, long>? kinds = null) =>
        (kinds ?? Kinds).Count == 0 ? "" : " (" + string.Join(", ", (kinds ?? Kinds).Select(k => FormattableString.Invariant($"{k.Key}: {k.Value:N0}"))) + ")";

    /// <summary>
    /// Runs <paramref name="workers"/> loops for <paramref name="seconds"/> and returns the successes per
    /// second. With <paramref name="prime"/> each worker's first request (its sign-in) runs, and must
    /// succeed, before the clock starts.
    /// </summary>
    public async Task<double> LoadAsync(string what, HttpClient http, int seconds, int workers, Func<int, Func<Task<HttpResponseMessage>>> makeWorker, bool prime = false)
    {
        long ok = 0, failed = 0;
        var kinds = new ConcurrentDictionary<string, long>();
        var running = true;
        var actions = Enumerable.Range(0, workers).Select(makeWorker).ToList();
        if (prime)
        {
            foreach (var action in actions)
            {
                using var response = await action();
                if (!response.IsSuccessStatusCode)
                {
                    throw new BenchFailedException($"{what}: a worker's first request answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }
        var stopwatch = Stopwatch.StartNew();
        var tasks = actions.Select(action => Task.Run(async () =>
        {
            while (Volatile.Read(ref running))
            {
                string? failure;
                try
                {
                    using var response = await action();
                    failure = response.IsSuccessStatusCode ? null : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                    failure = e.GetType().Name;
                    await Task.Delay(10);
                }
                if (failure is null)
                {
                    Interlocked.Increment(ref ok);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                    kinds.AddOrUpdate(failure, 1, (_, n) => n + 1);
                }
            }
        })).ToList();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref running, false);
        await Task.WhenAll(tasks);
        var elapsed = stopwatch.Elapsed.TotalSeconds;

        Interlocked.Add(ref _ok, ok);
        Interlocked.Add(ref _failed, failed);
        foreach (var (kind, n) in kinds)
        {
            _kinds.AddOrUpdate(kind, n, (_, m) => m + n);
        }
        var total = ok + failed;
        if (ok == 0 || failed > maxFailed * total)
        {
            throw new BenchFailedException(FormattableString.Invariant(
                $"{what}: {failed:N0} of {total:N0} requests failed{Describe(kinds)}, more than the {maxFailed:P2} a run may lose; its figures would be meaningless"));
        }
        if (failed > 0)
        {
            Console.WriteLine(FormattableString.Invariant($"{what}: {failed:N0} of {total:N0} requests failed{Describe(kinds)} (within the {maxFailed:P2} allowed)"));
        }
        return ok / elapsed;
    }
}
