using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Countersign.Attack;

namespace Countersign.Cli;

/// <summary><c>countersign attack brute-force|spray</c>: measure the defences of a server you own.</summary>
internal static class AttackCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var attack = new Command("attack", """
            Simulate a password attack against a Countersign server you own, to measure its defences.
            Only loopback targets are accepted unless --i-own-this-target is given. Bounded by --max-attempts
            (default 50,000) and --max-duration, and never more than 1,000,000 attempts or 2 hours.
            """);
        attack.Add(Mode("brute-force", "Many passwords against each user in turn.", AttackMode.BruteForce));
        attack.Add(Mode("spray", "Each password across every user before the next password (password spraying).", AttackMode.Spray));
        return attack;
    }

    private static Command Mode(string name, string description, AttackMode mode)
    {
        var target = new Option<Uri>("--target")
        {
            Description = "Base URL of the server, e.g. http://127.0.0.1:5080.",
            Required = true,
            CustomParser = r =>
            {
                if (Uri.TryCreate(r.Tokens.Single().Value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                {
                    return uri;
                }
                r.AddError("--target must be an absolute http:// or https:// URL.");
                return null;
            },
        };
        var users = new Option<FileInfo>("--users") { Description = "File with one username per line.", Required = true };
        var passwords = new Option<FileInfo>("--passwords") { Description = "File with one password per line, tried in order.", Required = true };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight at once (default 4).", DefaultValueFactory = _ => 4 };
        var maxAttempts = new Option<long>("--max-attempts")
        {
            Description = "Stop after this many attempts (default 50,000; at most 1,000,000).",
            DefaultValueFactory = _ => AttackSettings.DefaultMaxAttempts,
        };
        var maxDuration = new Option<string?>("--max-duration") { Description = "Stop after this long: 90s, 10m, 1h or hh:mm:ss (at most 2h)." };
        var solve = new Option<bool>("--solve-captcha") { Description = "When answered 423 or 428, solve the proof of work and try again, as a determined attacker would." };
        var report = new Option<FileInfo?>("--report") { Description = "Also write the report as JSON to this file." };
        var serverPid = new Option<int?>("--server-pid") { Description = "Process id of the server, to report its CPU time and peak memory (same machine)." };
        var own = new Option<bool>("--i-own-this-target") { Description = "Allow a target that is not on loopback. Only against systems you own." };
        var command = new Command(name, description) { target, users, passwords, concurrency, maxAttempts, maxDuration, solve, report, serverPid, own };
        command.SetAction(async (p, ct) =>
        {
            var url = p.GetValue(target)!;
            bool loopback;
            try
            {
                loopback = await AttackSimulator.IsLoopbackAsync(url);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync($"error: cannot resolve {url.Host}: {e.Message}");
                return 2;
            }
            if (!p.GetValue(own) && !loopback)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync($"error: {url.Host} is not a loopback address; refusing. Add --i-own-this-target only for systems you own.");
                return 2;
            }
            if (ParseDuration(p.GetValue(maxDuration)) is not { } duration)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: --max-duration takes 90s, 10m, 1h or hh:mm:ss.");
                return 2;
            }
            var settings = new AttackSettings(mode, url, Lines(p.GetValue(users)!), Lines(p.GetValue(passwords)!),
                Math.Clamp(p.GetValue(concurrency), 1, 256), Math.Clamp(p.GetValue(maxAttempts), 1, AttackSettings.HardMaxAttempts),
                duration, p.GetValue(solve), p.GetValue(serverPid));
            if (settings.Users.Count == 0 || settings.Passwords.Count == 0)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: the users and passwords files must each hold at least one line.");
                return 2;
            }
            var baseAddress = new Uri(url.ToString().TrimEnd('/') + "/");
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Concurrency }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
            try
            {
                // Measure a server that is there: an unreachable target would only count network errors.
                using var _ = await http.GetAsync("health/live", ct);
            }
            catch (HttpRequestException e)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync($"error: cannot reach {url}: {e.Message}");
                return 2;
            }
            var result = await new AttackSimulator(settings, http, Console.Error).RunAsync(ct);
            Print(result);
            if (p.GetValue(report) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(result, Indented), ct);
            }
            return 0;
        });
        return command;
    }

    private static List<string> Lines(FileInfo file) =>
        [.. File.ReadAllLines(file.FullName).Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0)];

    private static TimeSpan? ParseDuration(string? text)
    {
        if (text is null)
        {
            return AttackSettings.HardMaxDuration;
        }
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && text.Contains(':', StringComparison.Ordinal))
        {
            return span;
        }
        if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            return text[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                _ => null,
            };
        }
        return null;
    }

    private static void Print(AttackReport r)
    {
        var rows = new List<(string, string)>
        {
            ("mode", r.Mode),
            ("attempts", r.Attempts.ToString("N0", CultureInfo.InvariantCulture)),
            ("accounts compromised", $"{r.Compromised.Count} {(r.Compromised.Count > 0 ? "(" + string.Join(", ", r.Compromised) + ")" : "")}"),
            ("time to first compromise", r.TimeToFirstCompromiseSeconds is { } t ? $"{t:F2} s" : "never"),
            ("attempts/s", r.AttemptsPerSecond.ToString("F1", CultureInfo.InvariantCulture)),
            ("duration", $"{r.DurationSeconds:F1} s (stopped: {r.StoppedBy})"),
            ("latency p50/p95/p99", $"{r.LatencyMs["p50"]:F1} / {r.LatencyMs["p95"]:F1} / {r.LatencyMs["p99"]:F1} ms"),
            ("outcomes", string.Join("  ", r.Outcomes.Select(o => $"{o.Key}: {o.Value}"))),
            ("captchas solved", r.CaptchasSolved.ToString(CultureInfo.InvariantCulture)),
        };
        if (r.Server is { } s)
        {
            rows.Add(("server CPU", $"{s.CpuSeconds:F1} s ({s.CpuPercent:F0}% of one core)"));
            rows.Add(("server peak RSS", $"{s.PeakRssMiB:F0} MiB"));
        }
        foreach (var (key, value) in rows)
        {
            Console.WriteLine($"{key,-26} {value}");
        }
    }
}
