using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.CallVerification;
using Countersign.Hosting;
using Countersign.Secrets;
using Countersign.Sessions;
using Countersign.Storage;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Hosting;

/// <summary>
/// The call-verification hub's fan-out: N clients connected over loopback WebSockets, each with its own
/// pair, and how many receive their new words within 1 s of a window boundary. The server is the Release
/// build in its own process on embedded defaults (SQLite, in-memory state); this process holds the N client
/// connections (each process may open 20,000 files here, so the two sides cannot share one).
/// Usage: bench/fanout/run [--connections 10000] [--rounds 3] [--period 10] [--smoke]
/// <c>--smoke</c> (scripts/test): 100 connections, one boundary, a 2 s period.
/// A run fails when more than 0.1% of the connections could not be opened or a boundary's push did not
/// reach them at all (a late push is a figure; a lost one is a defect).
/// </summary>
internal static class FanOutBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--connections", "--period", "--rounds", "--server");
        var serverDll = options.Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required");
        var smoke = options.Smoke;
        var count = int.Parse(options.Get("--connections") ?? (smoke ? "100" : "10000"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(options.Get("--rounds") ?? (smoke ? "1" : "3"), CultureInfo.InvariantCulture);
        var period = int.Parse(options.Get("--period") ?? (smoke ? "2" : "10"), CultureInfo.InvariantCulture);
        var work = Directory.CreateTempSubdirectory("countersign-fanout-").FullName;
        var settings = new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = $"Data Source={Path.Combine(work, "countersign.db")}",
            ["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Secrets:Peppers:1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Audit:AttemptLogPath"] = Path.Combine(work, "attempts.jsonl"),
            ["CallVerification:Period"] = TimeSpan.FromSeconds(period).ToString("c", CultureInfo.InvariantCulture),
            ["CallVerification:Grace"] = TimeSpan.FromSeconds(period / 2).ToString("c", CultureInfo.InvariantCulture),
            // The run must not end the sessions it measures.
            ["CallVerification:InactivityTimeout"] = "01:00:00",
            // Every client comes from 127.0.0.1: the per-address connection cap (100 by default) would refuse all but 100.
            ["Connections:MaxConnectionsPerClient"] = "0",
            // The quad-factor listener is on by default in embedded mode; this bench measures the hub only.
            ["QuadFactor:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        Console.WriteLine($"fan-out: {count:N0} connections, period {period} s, {rounds} rounds, work in {work}");

        var stopwatch = Stopwatch.StartNew();
        var tokens = await SeedAsync(settings, count, migrate: true);
        Console.WriteLine($"seeded {count:N0} clients, {Advisors(count):N0} advisors and their pairs, tokens minted: {stopwatch.Elapsed.TotalSeconds:F1} s");

        var environment = settings.ToDictionary(s => "COUNTERSIGN__" + s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        await using var server = await Server.StartProcessAsync(serverDll, environment, "SQLite in " + work);

        var received = new ConcurrentQueue<(long WindowEnd, long At)>();
        var closed = 0;
        stopwatch.Restart();
        var (connections, failures) = await ConnectAsync(server.BaseAddress, tokens, connection =>
        {
            connection.Closed += _ =>
            {
                Interlocked.Increment(ref closed);
                return Task.CompletedTask;
            };
            connection.On<JsonElement, DateTimeOffset>("words", (pairs, _) =>
                received.Enqueue((pairs[0].GetProperty("window_ends_at").GetDateTimeOffset().ToUnixTimeMilliseconds(),
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
        });
        var connected = count - failures;
        Console.WriteLine($"connected {connected:N0} of {count:N0} in {stopwatch.Elapsed.TotalSeconds:F1} s ({connected / stopwatch.Elapsed.TotalSeconds:N0}/s); server RSS {server.ResidentMiB():N0} MiB");

        // Rounds: the next boundaries at least 2 s away, so the connect-time pushes are over.
        var periodMs = period * 1000L;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var first = (now / periodMs + 1) * periodMs;
        if (first - now < 2000)
        {
            first += periodMs;
        }
        var boundaries = Enumerable.Range(0, rounds).Select(r => first + r * periodMs).ToList();
        // Pushes later than this count as lost.
        await Task.Delay(TimeSpan.FromMilliseconds(boundaries[^1] + (smoke ? 2000 : 5000) - now));

        var byWindow = received.GroupBy(r => r.WindowEnd).ToDictionary(g => g.Key, g => g.Select(r => r.At).ToList());
        var within = new List<int>();
        var lost = 0;
        foreach (var boundary in boundaries)
        {
            // The push for the window that starts at the boundary carries that window's end.
            var latencies = (byWindow.GetValueOrDefault(boundary + periodMs) ?? []).Select(at => (double)(at - boundary)).Order().ToList();
            within.Add(latencies.Count(l => l <= 1000));
            lost = Math.Max(lost, connected - latencies.Count);
            Console.WriteLine(FormattableString.Invariant(
                $"boundary {DateTimeOffset.FromUnixTimeMilliseconds(boundary):HH:mm:ss}: received {latencies.Count:N0} of {connected:N0}, within 1 s {within[^1]:N0}, latency p50 {Percentile(latencies, 0.5):N0} ms, p95 {Percentile(latencies, 0.95):N0} ms, max {(latencies.Count > 0 ? latencies[^1] : double.NaN):N0} ms"));
        }
        Console.WriteLine(FormattableString.Invariant(
            $"median within 1 s: {within.Order().ElementAt(within.Count / 2):N0} of {connected:N0} connections; {closed:N0} closed during the run; server RSS {server.ResidentMiB():N0} MiB"));

        await Task.WhenAll(connections.OfType<HubConnection>().Select(c => c.DisposeAsync().AsTask()));
        if (failures > count * 0.001 || lost > count * 0.001 || connected == 0)
        {
            throw new BenchFailedException(FormattableString.Invariant(
                $"fan-out: {failures:N0} of {count:N0} connections failed to open and up to {lost:N0} connected clients got no push for a boundary; more than 0.1%, so the figures would be meaningless"));
        }
        return 0;
    }

    /// <summary>
    /// Opens one hub connection per token: bounded parallelism, WebSockets straight away (no negotiate round
    /// trip). Returns the connections (null where one failed to open) and how many failed.
    /// </summary>
    internal static async Task<(HubConnection?[] Connections, int Failures)> ConnectAsync(Uri server, string[] tokens, Action<HubConnection>? configure = null)
    {
        var connections = new HubConnection?[tokens.Length];
        var failures = 0;
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(Enumerable.Range(0, tokens.Length).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var connection = new HubConnectionBuilder()
                    .WithUrl(new Uri(server, "hubs/calls"), o =>
                    {
                        o.AccessTokenProvider = () => Task.FromResult<string?>(tokens[i]);
                        o.Transports = HttpTransportType.WebSockets;
                        o.SkipNegotiation = true;
                    })
                    .Build();
                // One process holds every client: allow its keep-alive answers to be late under load
                // rather than count a busy bench as a dead server.
                connection.ServerTimeout = TimeSpan.FromMinutes(2);
                configure?.Invoke(connection);
                await connection.StartAsync();
                connections[i] = connection;
            }
            catch (Exception e) when (e is HttpRequestException or System.Net.WebSockets.WebSocketException or InvalidOperationException or IOException or OperationCanceledException or TimeoutException)
            {
                Interlocked.Increment(ref failures);
            }
            finally
            {
                gate.Release();
            }
        }));
        return (connections, failures);
    }

    private static int Advisors(int clients) => Math.Max(1, clients / 100);

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>
    /// The accounts, pairs and sign-ins, written straight to the database by the server's own code (its
    /// DbContext, secret store and token issuer) in one batch: going through the API would measure hashing.
    /// </summary>
    /// <param name="migrate">Bring the schema up to date first (a database no server has started on yet).</param>
    internal static async Task<string[]> SeedAsync(Dictionary<string, string?> settings, int count, bool migrate)
    {
        await using var app = CountersignApp.Build(CountersignApp.CreateBuilder(b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            b.WebHost.UseUrls("http://127.0.0.1:0");
        }));
        if (migrate)
        {
            await StartupTasks.PrepareAsync(app.Services, CancellationToken.None);
        }
        else
        {
            // A database a server has migrated, perhaps a baseline build one migration behind this driver's (bench/run's
            // footprint): the options' validation only. The rows written here have the same columns in both builds (a
            // missing column would fail the insert, loudly).
            app.Services.GetService<IStartupValidator>()?.Validate();
        }
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        var secrets = scope.ServiceProvider.GetRequiredService<SecretStore>();
        // Loaded at start by the hosted StartupTasks, which this never-started host does not run.
        await app.Services.GetRequiredService<SigningKeys>().LoadAsync();
        var issuer = scope.ServiceProvider.GetRequiredService<AccessTokens>();
        var roleIds = await db.Roles.ToDictionaryAsync(r => r.Name!, r => r.Id);
        var now = DateTimeOffset.UtcNow;

        User NewUser(string name) => new()
        {
            Id = Guid.CreateVersion7(),
            UserName = name,
            NormalizedUserName = name.ToUpperInvariant(),
            SecurityStamp = Guid.NewGuid().ToString("N"),
            CreatedAt = now,
        };
        var advisors = Enumerable.Range(0, Advisors(count)).Select(i => NewUser($"fan-advisor-{i:D4}")).ToList();
        var clients = Enumerable.Range(0, count).Select(i => NewUser($"fan-client-{i:D5}")).ToList();
        db.Users.AddRange(advisors);
        db.Users.AddRange(clients);
        db.UserRoles.AddRange(advisors.Select(a => new IdentityUserRole<Guid> { UserId = a.Id, RoleId = roleIds[Roles.Advisor] }));
        db.UserRoles.AddRange(clients.Select(c => new IdentityUserRole<Guid> { UserId = c.Id, RoleId = roleIds[Roles.Client] }));
        db.Set<Pair>().AddRange(clients.Select((c, i) => new Pair
        {
            Id = Guid.CreateVersion7(),
            AdvisorId = advisors[i % advisors.Count].Id,
            ClientId = c.Id,
            ProtectedSecret = secrets.Protect(SecretStore.PairPurpose, RandomNumberGenerator.GetBytes(32)),
            CreatedAt = now,
        }));
        var families = clients.Select(c => new SessionFamily
        {
            Id = Guid.CreateVersion7(),
            UserId = c.Id,
            Kind = "bench",
            CreatedAt = now,
            LastUsedAt = now,
            ExpiresAt = now.AddDays(1),
        }).ToList();
        db.SessionFamilies.AddRange(families);
        await db.SaveChangesAsync();
        return [.. clients.Select((c, i) => issuer.Create(c, [Roles.Client], families[i].Id).Token)];
    }
}
