using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.SignalR.Client;

/// <summary>
/// The server's footprint, measured in bench/run beside the throughput figures (issue 17's goals):
///   1. time to ready: from starting <c>dotnet countersign.dll serve</c> to the first 200 of <c>/health/ready</c>
///      (polled every 10 ms), on a fresh database (the server migrates it) and on a restart of the migrated one;
///   2. idle RSS: the server's resident memory after ready and a few idle seconds;
///   3. memory per call-verification hub connection: (RSS with N connections − RSS before connecting) / N,
///      the N clients (each with its own pair and sign-in, seeded as bench/fanout/run does) held by this process.
/// Every server given to bench/run is measured the same way, the order alternating per round, so
/// <c>--baseline</c> gives each figure before and after a change from one run.
/// </summary>
internal static class FootprintBench
{
    public sealed record Figures(string Label, List<double> FreshReady, List<double> RestartReady, List<double> IdleMiB,
        double? BeforeConnectMiB = null, double? ConnectedMiB = null, int Connected = 0, double? KiBPerConnection = null);

    public static async Task<List<Figures>> RunAsync(IReadOnlyList<(string Label, string Dll)> servers, string postgres, int rounds, int idleSeconds,
        int connections, IReadOnlyDictionary<string, string> settings)
    {
        var figures = servers.Select(s => new Figures(s.Label, [], [], [])).ToList();
        var databases = servers.Select(_ => (string?)null).ToArray();
        var secrets = servers.Select(_ => Secrets()).ToArray();
        for (var round = 1; round <= rounds; round++)
        {
            // Alternating, as the login rounds do: neither build always starts first on a cold machine.
            var order = Enumerable.Range(0, servers.Count).ToList();
            if (round % 2 == 0)
            {
                order.Reverse();
            }
            foreach (var i in order)
            {
                var (label, dll) = servers[i];
                var merged = Merge(settings, secrets[i]);
                // Fresh: a new database, which the server migrates at start.
                await using (var fresh = await Server.StartOnPostgresAsync(dll, postgres, merged, $"{label} fresh database, round {round}"))
                {
                    figures[i].FreshReady.Add(fresh.ReadyAfter.TotalSeconds);
                    databases[i] = fresh.Database;
                }
                // Restart: the same database, already migrated, with its keys (the same secrets).
                await using var restart = await Server.StartOnPostgresAsync(dll, postgres, merged, $"{label} restart, round {round}", databases[i]);
                figures[i].RestartReady.Add(restart.ReadyAfter.TotalSeconds);
                await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
                figures[i].IdleMiB.Add(restart.ResidentKiB() / 1024.0);
                Console.WriteLine(FormattableString.Invariant(
                    $"round {round}: {label} ready after {figures[i].FreshReady[^1]:F2} s (fresh database), {figures[i].RestartReady[^1]:F2} s (restart); RSS after {idleSeconds} s idle {figures[i].IdleMiB[^1]:F0} MiB"));
                if (round == rounds && connections > 0)
                {
                    figures[i] = await PerConnectionAsync(figures[i], restart, postgres, databases[i]!, merged, connections, idleSeconds);
                }
            }
        }
        return figures;
    }

    /// <summary>
    /// Opens <paramref name="count"/> hub connections to the idle server and reads its RSS before and after. The
    /// RSS with them is the median of readings a second apart (one per idle second) once the last one is open (the
    /// connect-time pushes and their garbage settle), so one GC's timing does not decide the figure.
    /// </summary>
    private static async Task<Figures> PerConnectionAsync(Figures figures, Server server, string postgres, string database,
        IReadOnlyDictionary<string, string> settings, int count, int idleSeconds)
    {
        var stopwatch = Stopwatch.StartNew();
        var seed = settings.ToDictionary(s => s.Key, s => (string?)s.Value);
        seed["Storage:Provider"] = "Postgres";
        seed["Storage:ConnectionString"] = postgres.Replace("Database=postgres", $"Database={database}", StringComparison.Ordinal);
        seed["Audit:AttemptLogPath"] = Path.Combine(Path.GetTempPath(), database + "-seed.jsonl");
        var tokens = await FanOutBench.SeedAsync(seed, count, migrate: false);
        Console.WriteLine(FormattableString.Invariant($"{figures.Label}: seeded {count:N0} paired clients in {stopwatch.Elapsed.TotalSeconds:F1} s"));
        await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
        var before = server.ResidentKiB() / 1024.0;

        stopwatch.Restart();
        var (connections, failures) = await FanOutBench.ConnectAsync(server.BaseAddress, tokens);
        var connected = count - failures;
        var opened = stopwatch.Elapsed.TotalSeconds;
        var readings = new List<double>();
        for (var i = 0; i < Math.Max(1, idleSeconds); i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            readings.Add(server.ResidentKiB() / 1024.0);
        }
        var with = readings.Order().ElementAt(readings.Count / 2);
        await Task.WhenAll(connections.OfType<HubConnection>().Select(c => c.DisposeAsync().AsTask()));
        if (failures > count * 0.001 || connected == 0)
        {
            throw new BenchFailedException(FormattableString.Invariant(
                $"{figures.Label}: {failures:N0} of {count:N0} hub connections failed to open, more than 0.1%; the per-connection figure would be meaningless"));
        }
        var perConnection = (with - before) * 1024 / connected;
        Console.WriteLine(FormattableString.Invariant(
            $"{figures.Label}: {connected:N0} hub connections opened in {opened:F1} s; server RSS {before:F0} MiB before, {with:F0} MiB with them (readings {string.Join(", ", readings.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}): {perConnection:F1} KiB per connection"));
        return figures with { BeforeConnectMiB = before, ConnectedMiB = with, Connected = connected, KiBPerConnection = perConnection };
    }

    private static Dictionary<string, string> Secrets() => new()
    {
        ["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["Secrets:Peppers:1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        // The measurement must not end the sessions it holds open.
        ["CallVerification:InactivityTimeout"] = "01:00:00",
        // Every client comes from 127.0.0.1: the per-address connection cap (100 by default) would refuse all but 100.
        ["Connections:MaxConnectionsPerClient"] = "0",
    };

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b)
    {
        var merged = new Dictionary<string, string>(a);
        foreach (var (key, value) in b)
        {
            merged[key] = value;
        }
        return merged;
    }
}
