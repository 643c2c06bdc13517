using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.Attack;
using Countersign.Hosting;
using Countersign.Totp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Runs the attack simulator against the server in five configurations of its defences, with the same
/// generated user set each time, and writes docs/defences.md. The user set is made here, from a fixed
/// seed: 10 weak passwords (from the top of zxcvbn's common-password list, which the attacker's
/// dictionary also starts with), 10 medium (word + year + symbol patterns the dictionary holds further
/// down), 10 strong (random) and 3 with TOTP enrolled.
/// Usage: Countersign.Bench defences --server PATH/countersign.dll [--seconds 30] [--output docs/defences.md] [--smoke]
/// <c>--smoke</c> (scripts/test): two 1 s runs, brute force without defences and spraying against all of
/// them, the table to a temporary file.
/// A run fails when more than 0.1% of its attempts got no answer or a 5xx: those are defects, not defences.
/// </summary>
internal static class DefencesBench
{
    private static readonly (string Name, Dictionary<string, string> Settings)[] Configurations =
    [
        ("no defences", Defences(lockout: false, rate: false, captcha: false)),
        ("rate limit only", Defences(lockout: false, rate: true, captcha: false)),
        ("captcha only", Defences(lockout: false, rate: false, captcha: true)),
        ("lockout only", Defences(lockout: true, rate: false, captcha: false)),
        ("all", Defences(lockout: true, rate: true, captcha: true)),
    ];

    private static readonly string[] Medium =
    [
        "Summer2024!", "Winter2023!", "Football12!", "Welcome123!", "Dragon2020!",
        "Monkey1234!", "Sunshine99!", "Liverpool1!", "Charlie2019!", "Spring2025!",
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--output", "--seconds", "--server");
        var serverDll = options.Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required");
        var smoke = options.Smoke;
        var seconds = int.Parse(options.Get("--seconds") ?? (smoke ? "1" : "30"), CultureInfo.InvariantCulture);
        var work = Directory.CreateTempSubdirectory("countersign-defences-").FullName;
        var output = options.Get("--output") ?? (smoke ? Path.Combine(work, "defences.md") : "docs/defences.md");

        var (users, dictionary) = MakeUserSet();
        var usernames = Path.Combine(work, "usernames.txt");
        var passwords = Path.Combine(work, "dictionary.txt");
        await File.WriteAllLinesAsync(usernames, users.Select(u => u.Name));
        await File.WriteAllLinesAsync(passwords, dictionary);
        Console.WriteLine($"user set: {users.Count} users, dictionary of {dictionary.Count} passwords, {seconds} s per run, work in {work}");

        var rows = new List<(string Config, string Mode, AttackReport Report)>();
        foreach (var (name, settings) in Configurations)
        {
            foreach (var mode in new[] { AttackMode.Spray, AttackMode.BruteForce })
            {
                if (smoke && !(name == "no defences" && mode == AttackMode.BruteForce || name == "all" && mode == AttackMode.Spray))
                {
                    continue;
                }
                var folder = Path.Combine(work, $"{name.Replace(' ', '-')}-{mode}");
                Directory.CreateDirectory(folder);
                var config = new Dictionary<string, string>(settings)
                {
                    ["Storage:ConnectionString"] = $"Data Source={Path.Combine(folder, "countersign.db")}",
                    ["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                    ["Secrets:Peppers:1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                    ["Audit:AttemptLogPath"] = Path.Combine(folder, "attempts.jsonl"),
                };
                await CreateUsersAsync(config, users);
                var port = FreePort();
                using var server = StartServer(serverDll, config, port);
                var target = new Uri($"http://127.0.0.1:{port}/");
                await WaitReadyAsync(target);
                // Brute force aims at one weak account; spraying goes across everyone.
                var attacked = mode == AttackMode.BruteForce ? [users.First(u => u.Tier == "weak").Name] : users.Select(u => u.Name).ToList();
                var settingsForRun = new AttackSettings(mode, target, attacked, dictionary, Concurrency: 8,
                    MaxAttempts: 1_000_000, MaxDuration: TimeSpan.FromSeconds(seconds), SolveCaptcha: true, ServerPid: server.Id);
                using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = target };
                Console.WriteLine($"== {name}, {(mode == AttackMode.Spray ? "spray" : "brute force")}");
                var report = await new AttackSimulator(settingsForRun, http, Console.Out).RunAsync(CancellationToken.None);
                await File.WriteAllTextAsync(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report));
                rows.Add((name, mode == AttackMode.Spray ? "spray" : "brute force", report));
                Check($"{name}, {mode}", report);
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }
        await File.WriteAllTextAsync(output, Render(rows, users, dictionary.Count, seconds));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    /// <summary>Refusals (401, 423, 428, 429) are what is measured; no answer at all or a 5xx is a broken run.</summary>
    private static void Check(string run, AttackReport report)
    {
        var broken = report.Outcomes.Where(o => o.Key == "network_error" || o.Key.StartsWith('5')).ToList();
        var count = broken.Sum(o => o.Value);
        if (report.Attempts == 0 || count > report.Attempts * 0.001)
        {
            throw new BenchFailedException(FormattableString.Invariant(
                $"defences ({run}): {count:N0} of {report.Attempts:N0} attempts broke ({string.Join(", ", broken.Select(o => $"{o.Key}: {o.Value:N0}"))}); the table would be meaningless"));
        }
    }

    private static Dictionary<string, string> Defences(bool lockout, bool rate, bool captcha) => new()
    {
        ["Defences:Lockout:Enabled"] = lockout.ToString(),
        ["Defences:RateLimits:Enabled"] = rate.ToString(),
        ["Defences:Captcha:Enabled"] = captcha.ToString(),
        ["Logging:LogLevel:Default"] = "Warning",
    };

    private sealed record BenchUser(string Name, string Tier, string Password);

    private static (List<BenchUser> Users, List<string> Dictionary) MakeUserSet()
    {
        var random = new Random(20261123);
        var common = CommonPasswords();
        var users = new List<BenchUser>();
        for (var i = 0; i < 10; i++)
        {
            users.Add(new($"weak{i:00}", "weak", common[random.Next(0, 60)]));
            users.Add(new($"medium{i:00}", "medium", Medium[i]));
            users.Add(new($"strong{i:00}", "strong", Convert.ToBase64String(RandomBytes(random, 15))));
        }
        for (var i = 0; i < 3; i++)
        {
            users.Add(new($"totp{i:00}", "totp", Medium[i]));
        }
        // The attacker's list: the 400 most common passwords, with the medium patterns woven in from rank 30.
        var dictionary = common.Take(400).ToList();
        for (var i = 0; i < Medium.Length; i++)
        {
            dictionary.Insert(30 + i * 6, Medium[i]);
        }
        return (users, dictionary.Distinct().ToList());
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>zxcvbn's list of common passwords, in rank order, from the zxcvbn-core package the server uses.</summary>
    private static List<string> CommonPasswords()
    {
        var assembly = typeof(Zxcvbn.Zxcvbn).Assembly;
        var resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith("passwords.lst", StringComparison.Ordinal));
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        var list = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                list.Add(line);
            }
        }
        return list;
    }

    /// <summary>Accounts with real Argon2id hashes, written through the server's own composition root.</summary>
    private static async Task CreateUsersAsync(Dictionary<string, string> config, List<BenchUser> users)
    {
        await using var app = CountersignApp.Build(CountersignApp.CreateBuilder(b => b.Configuration.AddInMemoryCollection(config!)));
        await StartupTasks.PrepareAsync(app.Services, CancellationToken.None);
        await using var scope = app.Services.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<UserManager<User>>();
        foreach (var u in users)
        {
            // Weak passwords would not pass the policy; they are here because earlier systems let users choose them.
            var user = new User { Id = Guid.CreateVersion7(), UserName = u.Name, CreatedAt = DateTimeOffset.UtcNow };
            user.PasswordHash = manager.PasswordHasher.HashPassword(user, u.Password);
            var result = await manager.CreateAsync(user);
            if (!result.Succeeded)
            {
                throw new InvalidOperationException(string.Join(" ", result.Errors.Select(e => e.Description)));
            }
            if (u.Tier == "totp")
            {
                // Enrolled and confirmed like a real user would: the right password then meets a 417.
                var totp = scope.ServiceProvider.GetRequiredService<TotpService>();
                var enrolment = await totp.StartAsync(user) ?? throw new InvalidOperationException("enrolment refused");
                var secret = OtpNet.Base32Encoding.ToBytes(enrolment.Secret);
                if (!await totp.ConfirmAsync(user.Id, Rfc6238.Code(secret, Rfc6238.StepAt(DateTimeOffset.UtcNow))))
                {
                    throw new InvalidOperationException("confirmation refused");
                }
            }
        }
    }

    private static Process StartServer(string dll, Dictionary<string, string> config, int port)
    {
        var start = new ProcessStartInfo("dotnet", [dll, "serve", "--urls", $"http://127.0.0.1:{port}"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        // The quad-factor listener is on by default in embedded mode; this bench measures HTTP only.
        start.Environment["COUNTERSIGN__QuadFactor__Enabled"] = "false";
        foreach (var (key, value) in config)
        {
            start.Environment["COUNTERSIGN__" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(Uri target)
    {
        using var probe = new HttpClient { BaseAddress = target };
        for (var i = 0; i < 150; i++)
        {
            try
            {
                if ((await probe.GetAsync("health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        throw new BenchFailedException("the server did not become ready in 30 s");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Render(List<(string Config, string Mode, AttackReport Report)> rows, List<BenchUser> users, int dictionary, int seconds)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"""
            # Brute-force defences, measured

            Written by `bench/defences/run` on {DateTime.UtcNow:yyyy-MM-dd} ({Environment.ProcessorCount} vCPUs, the project's Debian 12 VM).
            Each row is one run of `countersign attack` (the same code, in-process) against a fresh server
            (embedded SQLite, Argon2id m=19 MiB t=2) for at most {seconds} s, 8 requests in flight, solving every
            proof-of-work challenge offered (`--solve-captcha`), waiting out every 429 (`Retry-After`).

            User set ({users.Count} accounts, fixed seed): 10 with weak passwords taken from the top 60 of zxcvbn's
            common-password list, 10 medium (`Summer2024!`-style), 10 strong (120 random bits), and 3 with an
            authenticator app enrolled, whose medium passwords the dictionary holds: guessing one gives a 417, not
            a session.
            The attacker's dictionary: the {dictionary} most common passwords with the medium patterns woven in
            every sixth place from rank 30. **Spray** tries each password across all accounts before the next; **brute force**
            tries the whole dictionary against one weak account.

            | configuration | attack | attempts | attempts/s | accounts compromised | time to first compromise | 401 | 417 | 423 | 428 | 429 | captchas solved | p50 / p95 latency | server CPU |
            | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
            """);
        foreach (var (config, mode, r) in rows)
        {
            string Count(string code) => r.Outcomes.GetValueOrDefault(code).ToString("N0", CultureInfo.InvariantCulture);
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {config} | {mode} | {r.Attempts:N0} | {r.AttemptsPerSecond:F1} | {r.Compromised.Count} of {(mode == "spray" ? users.Count : 1)} | " +
                $"{(r.TimeToFirstCompromiseSeconds is { } t ? $"{t:F1} s" : "none")} | {Count("401")} | {Count("417")} | {Count("423")} | {Count("428")} | {Count("429")} | " +
                $"{r.CaptchasSolved:N0} | {r.LatencyMs["p50"]:F0} / {r.LatencyMs["p95"]:F0} ms | {r.Server?.CpuPercent:F0}% |");
        }
        md.AppendLine();
        md.AppendLine("""
            Server CPU is the server process's CPU time over the run, as a percentage of one core (the load
            driver runs on the same two vCPUs). Attempts include the retries after a solved challenge or a
            429 wait. Reproduce with `bench/defences/run` (add `--seconds N` to change the run length).
            """);
        return md.ToString();
    }
}
