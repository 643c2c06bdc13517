using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Countersign.Defences;

namespace Countersign.Attack;

public enum AttackMode
{
    /// <summary>Many passwords against each user in turn.</summary>
    BruteForce,
    /// <summary>Each password across every user before the next password.</summary>
    Spray,
}

public sealed record AttackSettings(
    AttackMode Mode,
    Uri Target,
    IReadOnlyList<string> Users,
    IReadOnlyList<string> Passwords,
    int Concurrency = 4,
    long MaxAttempts = AttackSettings.DefaultMaxAttempts,
    TimeSpan? MaxDuration = null,
    bool SolveCaptcha = false,
    int? ServerPid = null)
{
    public const long DefaultMaxAttempts = 50_000;
    public const long HardMaxAttempts = 1_000_000;
    public static readonly TimeSpan HardMaxDuration = TimeSpan.FromHours(2);
}

public sealed record AttackReport(
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("attempts")] long Attempts,
    [property: JsonPropertyName("successes")] long Successes,
    [property: JsonPropertyName("compromised")] IReadOnlyList<string> Compromised,
    [property: JsonPropertyName("time_to_first_compromise_s")] double? TimeToFirstCompromiseSeconds,
    [property: JsonPropertyName("outcomes")] IReadOnlyDictionary<string, long> Outcomes,
    [property: JsonPropertyName("duration_s")] double DurationSeconds,
    [property: JsonPropertyName("attempts_per_s")] double AttemptsPerSecond,
    [property: JsonPropertyName("latency_ms")] IReadOnlyDictionary<string, double> LatencyMs,
    [property: JsonPropertyName("captchas_solved")] long CaptchasSolved,
    [property: JsonPropertyName("stopped_by")] string StoppedBy,
    [property: JsonPropertyName("server")] ServerUsage? Server);

public sealed record ServerUsage(
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("cpu_seconds")] double CpuSeconds,
    [property: JsonPropertyName("cpu_percent_of_one_core")] double CpuPercent,
    [property: JsonPropertyName("peak_rss_mib")] double PeakRssMiB);

/// <summary>
/// Plays an attacker against a Countersign server so the defences can be measured: brute force (many
/// passwords, one user at a time) or password spraying (a few passwords across many users). Bounded in
/// attempts and time, and refuses anything but loopback unless told the target is the caller's own.
/// </summary>
public sealed class AttackSimulator(AttackSettings settings, HttpClient http, TextWriter progress)
{
    private readonly ConcurrentDictionary<string, long> _outcomes = new();
    private readonly ConcurrentDictionary<string, bool> _compromised = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentBag<double> _latencies = [];
    private long _attempts;
    private long _solved;
    private double? _firstCompromise;

    /// <summary>Only loopback targets, unless the caller owns the target and says so.</summary>
    public static async Task<bool> IsLoopbackAsync(Uri target)
    {
        if (target.IsLoopback)
        {
            return true;
        }
        var addresses = await Dns.GetHostAddressesAsync(target.DnsSafeHost);
        return addresses.Length > 0 && addresses.All(IPAddress.IsLoopback);
    }

    public async Task<AttackReport> RunAsync(CancellationToken ct)
    {
        var maxAttempts = Math.Min(settings.MaxAttempts, AttackSettings.HardMaxAttempts);
        var maxDuration = settings.MaxDuration is { } d && d < AttackSettings.HardMaxDuration ? d : AttackSettings.HardMaxDuration;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(maxDuration);
        var cpuBefore = settings.ServerPid is { } pid ? ProcessUsage.CpuSeconds(pid) : 0;
        double peakRss = 0;
        var stopwatch = Stopwatch.StartNew();
        var queue = new ConcurrentQueue<(string User, string Password)>(Pairs());
        var stoppedBy = "list_exhausted";

        using var ticker = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        var progressTask = Task.Run(async () =>
        {
            try
            {
                while (await ticker.WaitForNextTickAsync(deadline.Token))
                {
                    if (settings.ServerPid is { } p)
                    {
                        peakRss = Math.Max(peakRss, ProcessUsage.RssMiB(p));
                    }
                    await progress.WriteAsync("\r" + ProgressLine(stopwatch.Elapsed));
                }
            }
            catch (OperationCanceledException)
            {
                // The run ended.
            }
        }, CancellationToken.None);

        var workers = Enumerable.Range(0, Math.Max(1, settings.Concurrency)).Select(_ => Task.Run(async () =>
        {
            while (!deadline.IsCancellationRequested && queue.TryDequeue(out var pair))
            {
                if (_compromised.ContainsKey(pair.User))
                {
                    continue;
                }
                if (Interlocked.Increment(ref _attempts) > maxAttempts)
                {
                    Interlocked.Decrement(ref _attempts);
                    stoppedBy = "max_attempts";
                    return;
                }
                try
                {
                    await TryAsync(pair.User, pair.Password, stopwatch, deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (HttpRequestException)
                {
                    _outcomes.AddOrUpdate("network_error", 1, (_, n) => n + 1);
                }
            }
        }, CancellationToken.None)).ToList();
        await Task.WhenAll(workers);
        if (deadline.IsCancellationRequested && !ct.IsCancellationRequested && stoppedBy == "list_exhausted" && !queue.IsEmpty)
        {
            stoppedBy = "max_duration";
        }
        var elapsed = stopwatch.Elapsed;
        await deadline.CancelAsync();
        await progressTask;
        await progress.WriteLineAsync("\r" + ProgressLine(elapsed));

        ServerUsage? server = null;
        if (settings.ServerPid is { } serverPid)
        {
            var cpu = ProcessUsage.CpuSeconds(serverPid) - cpuBefore;
            server = new(serverPid, Math.Round(cpu, 2), Math.Round(cpu / elapsed.TotalSeconds * 100, 1),
                Math.Round(Math.Max(peakRss, ProcessUsage.RssMiB(serverPid)), 1));
        }
        var sorted = _latencies.Order().ToArray();
        return new AttackReport(
            settings.Mode == AttackMode.Spray ? "spray" : "brute-force",
            settings.Target.ToString(),
            Interlocked.Read(ref _attempts),
            _outcomes.GetValueOrDefault("200"),
            [.. _compromised.Keys.Order()],
            _firstCompromise is { } first ? Math.Round(first, 2) : null,
            new SortedDictionary<string, long>(_outcomes),
            Math.Round(elapsed.TotalSeconds, 2),
            Math.Round(_attempts / Math.Max(elapsed.TotalSeconds, 0.001), 1),
            new Dictionary<string, double> { ["p50"] = Percentile(sorted, 0.50), ["p95"] = Percentile(sorted, 0.95), ["p99"] = Percentile(sorted, 0.99) },
            Interlocked.Read(ref _solved),
            ct.IsCancellationRequested ? "cancelled" : stoppedBy,
            server);
    }

    private IEnumerable<(string, string)> Pairs() => settings.Mode == AttackMode.Spray
        ? settings.Passwords.SelectMany(p => settings.Users.Select(u => (u, p)))
        : settings.Users.SelectMany(u => settings.Passwords.Select(p => (u, p)));

    private async Task TryAsync(string user, string password, Stopwatch clock, CancellationToken ct)
    {
        string? solution = null;
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await http.PostAsJsonAsync("api/auth/login", new { username = user, password, captcha = solution }, ct);
            _latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var status = (int)response.StatusCode;
            _outcomes.AddOrUpdate(status.ToString(CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
            switch (status)
            {
                case 200 when _compromised.TryAdd(user, true):
                    var at = clock.Elapsed.TotalSeconds;
                    lock (_outcomes)
                    {
                        _firstCompromise ??= at;
                    }
                    return;
                case 423 or 428 when settings.SolveCaptcha && solution is null:
                    // Pay the proof of work, then the same guess again: that retry is a new attempt.
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                    if (!body.TryGetProperty("captcha", out var challenge))
                    {
                        return;
                    }
                    solution = Captcha.Solve(challenge.Deserialize<CaptchaChallenge>()!);
                    Interlocked.Increment(ref _solved);
                    Interlocked.Increment(ref _attempts);
                    continue;
                case 429:
                    // A patient attacker waits out the window and tries the same guess again.
                    var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                    await Task.Delay(wait, ct);
                    Interlocked.Increment(ref _attempts);
                    continue;
                default:
                    return;
            }
        }
    }

    private static readonly string[] ShownCodes = ["200", "401", "417", "400", "423", "428", "429"];

    private string ProgressLine(TimeSpan elapsed)
    {
        var attempts = Interlocked.Read(ref _attempts);
        var counts = string.Join(" ", ShownCodes.Select(code => $"{code}:{_outcomes.GetValueOrDefault(code)}"));
        return FormattableString.Invariant(
            $"{elapsed:hh\\:mm\\:ss} attempts {attempts} ({attempts / Math.Max(elapsed.TotalSeconds, 0.001):F0}/s) compromised {_compromised.Count} | {counts}   ");
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 2);
}

/// <summary>CPU time and memory of the server under attack, read from /proc.</summary>
internal static class ProcessUsage
{
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    public static double RssMiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return 0;
    }
}
