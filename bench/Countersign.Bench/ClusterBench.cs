using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Countersign.Totp;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

/// <summary>
/// Faults under a steady mixed load on the cluster of <c>scripts/cluster</c> (issue 17): password logins, refresh
/// rotations, TOTP logins and call-verification hub clients, all through the load balancer, while the bench kills a
/// node (SIGKILL), stops Redis, and crashes and restarts PostgreSQL. For each phase: the share of operations that
/// succeeded, what the failures answered, and how long recovery took; then <c>audit verify</c>, and every login the
/// driver saw succeed must have its audit row. bench/cluster/run starts and stops the cluster.
/// </summary>
internal static class ClusterBench
{
    private const string Password = "violet Anchor 7 drifting kites";

    /// <summary>One request: when it was sent and when its answer came.</summary>
    internal sealed record Op(DateTime At, string Kind, int Status, string? Error)
    {
        public DateTime Done { get; init; } = DateTime.UtcNow;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--csv", "--dir", "--fault-seconds", "--hub-pairs", "--plot", "--script", "--soak", "--steady-seconds", "--workers");
        var smoke = options.Smoke;
        var dir = options.Get("--dir") ?? throw new ArgumentException("--dir CLUSTER_FOLDER is required");
        var script = options.Get("--script") ?? throw new ArgumentException("--script PATH/scripts/cluster is required");
        var faultSeconds = smoke ? 2 : int.Parse(options.Get("--fault-seconds") ?? "30", CultureInfo.InvariantCulture);
        var steadySeconds = smoke ? 2 : int.Parse(options.Get("--steady-seconds") ?? "15", CultureInfo.InvariantCulture);
        var workers = int.Parse(options.Get("--workers") ?? (smoke ? "2" : "6"), CultureInfo.InvariantCulture);
        var hubPairs = smoke ? 2 : int.Parse(options.Get("--hub-pairs") ?? "10", CultureInfo.InvariantCulture);
        // --soak MINUTES: the soak instead of the faults. The smoke run makes both, the soak for 6 s.
        var soakMinutes = options.Get("--soak") is { } soak ? double.Parse(soak, CultureInfo.InvariantCulture) : (double?)null;
        var soakCsv = options.Get("--csv") ?? Path.Combine(dir, "soak.csv");
        var soakPlot = options.Get("--plot") ?? Path.Combine(dir, "soak.png");
        var state = File.ReadAllLines(Path.Combine(dir, "cluster.env")).Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1]);
        var url = new Uri(state["CLUSTER_URL"]);
        var nodes = int.Parse(state["NODES"], CultureInfo.InvariantCulture);
        var postgres = $"Host=127.0.0.1;Port={state["PG_PORT"]};Username=postgres;Database=countersign;Pooling=false";

        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromSeconds(10),
        };
        var users = new List<string>();
        for (var i = 0; i < workers * 2; i++)
        {
            users.Add(await RegisterAsync(http, $"load{i}"));
        }
        var totpUsers = new List<(string Name, byte[] Secret)>();
        for (var i = 0; i < workers; i++)
        {
            var name = await RegisterAsync(http, $"totp{i}");
            var token = (await SignInAsync(http, name)).Access;
            var enrolment = await (await http.SendAsync(Bearer(HttpMethod.Post, "/api/me/totp", token))).Content.ReadFromJsonAsync<JsonElement>();
            var secret = OtpNet.Base32Encoding.ToBytes(enrolment.GetProperty("secret").GetString()!);
            var step = Rfc6238.StepAt(DateTimeOffset.UtcNow) - 1;
            (await http.SendAsync(Bearer(HttpMethod.Post, "/api/me/totp/confirm", token, new { code = Rfc6238.Code(secret, step) }))).EnsureSuccessStatusCode();
            totpUsers.Add((name, secret));
        }
        using var stop = new CancellationTokenSource();
        var hubs = await HubClientsAsync(http, url, hubPairs, stop.Token);

        var ops = new ConcurrentQueue<Op>();
        var sessions = new ConcurrentBag<string>();
        var load = Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkerAsync(url, w, users, totpUsers[w], ops, sessions, stop.Token))).ToList();

        var phases = new List<(string Name, DateTime From, DateTime To, string Note)>();
        async Task Phase(string name, int seconds, string note = "")
        {
            var from = DateTime.UtcNow;
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            phases.Add((name, from, DateTime.UtcNow, note));
        }
        async Task Cluster(params string[] command)
        {
            var info = new ProcessStartInfo(script) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in command.Append("--dir").Append(dir))
            {
                info.ArgumentList.Add(a);
            }
            using var p = Process.Start(info)!;
            var err = p.StandardError.ReadToEndAsync();
            await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0)
            {
                throw new BenchFailedException($"scripts/cluster {string.Join(' ', command)}: {await err}");
            }
        }

        var failed = false;
        if (soakMinutes is null)
        {
            failed |= await FaultsAsync();
        }
        if (soakMinutes is not null || smoke)
        {
            failed |= await ClusterSoak.RunAsync(dir, nodes, soakMinutes ?? 0.1, TimeSpan.FromSeconds(soakMinutes is null ? 1 : 10),
                judge: !smoke, ops, hubs, soakCsv, soakPlot);
        }

        await stop.CancelAsync();
        await Task.WhenAll(load);
        foreach (var hub in hubs)
        {
            await hub.Connection.DisposeAsync();
        }

        // Whatever happened, the audit is whole, and every login the driver saw succeed is in it.
        var verify = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "cli", "--dir", dir, "audit", "verify" })
        {
            verify.ArgumentList.Add(a);
        }
        using (var p = Process.Start(verify)!)
        {
            var output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            Console.WriteLine($"audit verify: exit {p.ExitCode}, {output.Trim()}");
            failed |= p.ExitCode != 0;
        }
        await using (var db = NpgsqlDataSource.Create(postgres))
        {
            await using var query = db.CreateCommand("""SELECT "Detail" FROM audit_events WHERE "Action" = 'login_succeeded'""");
            var audited = new HashSet<string>();
            await using (var reader = await query.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    if (!reader.IsDBNull(0) && JsonDocument.Parse(reader.GetString(0)).RootElement.TryGetProperty("session_id", out var sid))
                    {
                        audited.Add(sid.GetString()!);
                    }
                }
            }
            var missing = sessions.Count(s => !audited.Contains(s));
            Console.WriteLine($"successful logins seen by the driver: {sessions.Count}; without their audit row: {missing}");
            failed |= missing > 0 || sessions.IsEmpty;
        }
        return failed ? 1 : 0;

        // The faults, one after another under the load, and what the load saw in each.
        async Task<bool> FaultsAsync()
        {
            await Phase("steady", steadySeconds);

            // A node killed: the balancer takes it out; the hub clients on it reconnect to the others.
            await Cluster("stop-node", "2", "--kill");
            var killed = DateTime.UtcNow;
            await Phase("node 2 killed (SIGKILL)", faultSeconds);
            // The clients whose node died: reconnected (to another node) and sent words again on the new connection.
            var hubsLost = hubs.Count(h => h.ReconnectedAt > killed);
            var hubsBack = hubs.Count(h => h.ReconnectedAt > killed && h.LastWords >= h.ReconnectedAt);
            var hubsConnected = hubs.Count(h => h.Connection.State == HubConnectionState.Connected);
            var reconnectTimes = hubs.Where(h => h.ReconnectedAt > killed).Select(h => (h.ReconnectedAt!.Value - killed).TotalSeconds).Order().ToList();
            await Cluster("start-node", "2");

            await Phase("recovered", steadySeconds);

            // Redis down: sign-in must fail closed (503 ephemeral_store_unavailable), never succeed unchecked.
            await Cluster("stop-redis");
            var redisDown = DateTime.UtcNow;
            string? readyWhileDown;
            using (var ready = await http.GetAsync("/health/ready"))
            {
                readyWhileDown = $"{(int)ready.StatusCode} {(await ready.Content.ReadAsStringAsync()).Trim()}";
            }
            await Phase("Redis stopped", faultSeconds, readyWhileDown);
            await Cluster("start-redis");
            var redisBack = DateTime.UtcNow;
            await Phase("Redis back", steadySeconds);

            // PostgreSQL crashed (immediate stop) and started again.
            await Cluster("stop-postgres");
            var pgDown = DateTime.UtcNow;
            await Phase("PostgreSQL down", Math.Max(2, faultSeconds / 3));
            await Cluster("start-postgres");
            var pgBack = DateTime.UtcNow;
            await Phase("PostgreSQL back", steadySeconds);

            var all = ops.ToList();
            Console.WriteLine($"{workers} load workers (password login, refresh, TOTP login in turn) and {hubs.Count} hub clients, through nginx to {nodes} nodes");
            Console.WriteLine($"{"phase",-28} {"ops",6} {"ok %",7} {"login ok",9} {"refused as",-60}");
            var failed = false;
            foreach (var (name, from, to, note) in phases)
            {
                var inPhase = all.Where(o => o.At >= from && o.At < to).ToList();
                var ok = inPhase.Count(o => o.Status is >= 200 and < 300);
                var loginsOk = inPhase.Count(o => o.Kind != "refresh" && o.Status == 200);
                var refusals = string.Join(", ", inPhase.Where(o => o.Status is < 200 or >= 300)
                    .GroupBy(o => $"{o.Status} {o.Error}").OrderByDescending(g => g.Count()).Take(3).Select(g => $"{g.Key} ×{g.Count()}"));
                Console.WriteLine($"{name,-28} {inPhase.Count,6} {(inPhase.Count == 0 ? 0 : 100.0 * ok / inPhase.Count),7:F2} {loginsOk,9} {refusals,-60}");
                if (note.Length > 0)
                {
                    Console.WriteLine($"    /health/ready meanwhile: {note}");
                }
            }
            var killPhase = phases[1];
            var killOps = all.Where(o => o.At >= killPhase.From && o.At < killPhase.To).ToList();
            var killRate = killOps.Count == 0 ? 0 : 100.0 * killOps.Count(o => o.Status is >= 200 and < 300) / killOps.Count;
            Console.WriteLine($"node killed: {killRate:F2}% of operations succeeded over the next {faultSeconds} s (goal ≥ 99%)");
            Console.WriteLine($"    hub clients: {hubsLost} of {hubs.Count} lost their node and reconnected " +
                              $"(after {(reconnectTimes.Count == 0 ? "-" : $"{reconnectTimes[0]:F1}–{reconnectTimes[^1]:F1} s")}), {hubsBack} of them got words again; " +
                              $"{hubsConnected} of {hubs.Count} connected at the end of the phase");
            failed |= hubsBack < hubsLost;
            var loginsDuringRedis = all.Count(o => o.Kind != "refresh" && o.Done > redisDown && o.Done < redisBack && o.Status == 200);
            Console.WriteLine($"Redis down: {loginsDuringRedis} sign-ins succeeded while it was down (goal 0: fail closed)");
            var redisRecovery = FirstSuccessAfter(all, redisBack, "login");
            var lastRedisRefusal = all.Where(o => o.At >= redisBack && o.Error == "ephemeral_store_unavailable").Select(o => (TimeSpan?)(o.At - redisBack)).Max();
            Console.WriteLine($"Redis back: first sign-in {Describe(redisRecovery)} after it started, last 503 {Describe(lastRedisRefusal)} after (goal: all recovered ≤ 5 s)");
            var pgRecovery = FirstSuccessAfter(all, pgBack, null);
            // By the time the answer came: a request sent while the database was down may wait for it and succeed after.
            var okWhilePgDown = all.Where(o => o.Done > pgDown && o.Done < pgBack && o.Status is >= 200 and < 300)
                .GroupBy(o => o.Kind).Select(g => $"{g.Key} ×{g.Count()}").ToList();
            Console.WriteLine($"PostgreSQL down: operations that succeeded while it was down: {(okWhilePgDown.Count == 0 ? "none" : string.Join(", ", okWhilePgDown))}; " +
                              $"first success {Describe(pgRecovery)} after it started (goal ≤ 5 s)");
            failed |= !smoke && (killRate < 99 || loginsDuringRedis > 0 || redisRecovery is not { } r || r > TimeSpan.FromSeconds(5)
                || lastRedisRefusal > TimeSpan.FromSeconds(5)
                || pgRecovery is not { } pg || pg > TimeSpan.FromSeconds(5));
            failed |= loginsDuringRedis > 0;
            return failed;
        }
    }

    private static string Describe(TimeSpan? wait) => wait is { } w ? $"{w.TotalSeconds:F1} s" : "never";

    private static TimeSpan? FirstSuccessAfter(List<Op> ops, DateTime from, string? kind) =>
        ops.Where(o => o.At >= from && o.Status is >= 200 and < 300 && (kind is null || o.Kind.Contains(kind, StringComparison.Ordinal)))
            .Select(o => (TimeSpan?)(o.At - from)).Min();

    private static async Task WorkerAsync(Uri url, int worker, List<string> users, (string Name, byte[] Secret) totp,
        ConcurrentQueue<Op> ops, ConcurrentBag<string> sessions, CancellationToken stop)
    {
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromSeconds(5),
        };
        string? refresh = null;
        long lastStep = 0;
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var kind = (i % 3) switch
            {
                0 => "password login",
                1 => refresh is null ? "password login" : "refresh",
                _ => Rfc6238.StepAt(DateTimeOffset.UtcNow) > lastStep ? "totp login" : "password login",
            };
            object body = kind switch
            {
                "refresh" => new { refresh_token = refresh },
                "totp login" => new { username = totp.Name, password = Password, totp_code = Rfc6238.Code(totp.Secret, Rfc6238.StepAt(DateTimeOffset.UtcNow)) },
                _ => new { username = users[(worker * 2 + i) % users.Count], password = Password },
            };
            if (kind == "totp login")
            {
                lastStep = Rfc6238.StepAt(DateTimeOffset.UtcNow);
            }
            var at = DateTime.UtcNow;
            try
            {
                using var response = await http.PostAsJsonAsync(kind == "refresh" ? "/api/auth/refresh" : "/api/auth/login", body, stop);
                var text = await response.Content.ReadAsStringAsync(stop);
                string? error = null;
                if (response.IsSuccessStatusCode)
                {
                    var tokens = JsonDocument.Parse(text).RootElement;
                    refresh = tokens.GetProperty("refresh_token").GetString();
                    if (kind != "refresh")
                    {
                        sessions.Add(SessionId(tokens.GetProperty("access_token").GetString()!));
                    }
                }
                else
                {
                    try
                    {
                        error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString();
                    }
                    catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                    {
                        error = "(no problem body)";
                    }
                    if (kind == "refresh")
                    {
                        refresh = null;
                    }
                }
                ops.Enqueue(new(at, kind, (int)response.StatusCode, error));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
            {
                ops.Enqueue(new(at, kind, 0, e is TaskCanceledException ? "timeout" : "connection"));
                await Task.Delay(100, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static string SessionId(string jwt) => Claims(jwt).GetProperty("sid").GetString()!;

    private static (DateTimeOffset IssuedAt, DateTimeOffset Expires) Lifetime(string jwt)
    {
        var claims = Claims(jwt);
        return (DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("iat").GetInt64()), DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("exp").GetInt64()));
    }

    private static JsonElement Claims(string jwt)
    {
        var payload = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        return JsonDocument.Parse(Convert.FromBase64String(payload)).RootElement.Clone();
    }

    internal sealed class HubClient(HubConnection connection)
    {
        public HubConnection Connection { get; } = connection;
        public int Words;
        public DateTime LastWords;
        public DateTime? ReconnectedAt;

        /// <summary>Connections started again after the server closed them at the access token's expiry.</summary>
        public int Restarts;
        public int FailedRestarts;
        public int Reconnects;

        /// <summary>Why connections closed and renewals failed, as the client saw it: the soak prints them.</summary>
        public ConcurrentQueue<string> Troubles { get; } = new();
    }

    /// <summary>
    /// Advisor–client pairs, each side connected through the balancer as calls.js connects, reconnecting on loss. A
    /// bearer connection is closed when its access token expires (CloseOnAuthenticationExpiration, 5 min), so each
    /// client keeps its refresh token, hands the hub a fresh access token, and starts again when closed; and it
    /// reports activity every minute as the page does, or its live session would end after 3 idle minutes.
    /// </summary>
    private static async Task<List<HubClient>> HubClientsAsync(HttpClient http, Uri url, int pairs, CancellationToken stop)
    {
        var admin = (await SignInAsync(http, "benchadmin")).Access;
        var clients = new List<HubClient>();
        for (var i = 0; i < pairs; i++)
        {
            var advisor = await RegisterAsync(http, $"advisor{i}");
            var client = await RegisterAsync(http, $"client{i}");
            await RoleAsync(http, admin, advisor, "advisor");
            await RoleAsync(http, admin, client, "client");
            (await http.SendAsync(Bearer(HttpMethod.Post, "/api/admin/pairs", admin, new { advisor, client }), CancellationToken.None)).EnsureSuccessStatusCode();
            foreach (var name in new[] { advisor, client })
            {
                var tokens = await SignInAsync(http, name);
                var renew = new SemaphoreSlim(1);
                async Task<string?> AccessToken()
                {
                    await renew.WaitAsync(stop);
                    try
                    {
                        // Renewed in the last fifth of its life, so a reconnect never presents an expired token.
                        var (issuedAt, expires) = Lifetime(tokens.Access);
                        if (DateTimeOffset.UtcNow > expires - (expires - issuedAt) / 5)
                        {
                            using var response = await http.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = tokens.Refresh }, stop);
                            if (!response.IsSuccessStatusCode)
                            {
                                throw new HttpRequestException($"token renewal for {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(stop)}");
                            }
                            var body = await response.Content.ReadFromJsonAsync<JsonElement>(stop);
                            tokens = (body.GetProperty("access_token").GetString()!, body.GetProperty("refresh_token").GetString()!);
                        }
                        return tokens.Access;
                    }
                    finally
                    {
                        renew.Release();
                    }
                }
                var connection = new HubConnectionBuilder()
                    .WithUrl(new Uri(url, "hubs/calls"), o =>
                    {
                        o.AccessTokenProvider = AccessToken;
                        o.SkipNegotiation = true;
                        o.Transports = HttpTransportType.WebSockets;
                    })
                    .WithAutomaticReconnect([TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)])
                    .Build();
                var hub = new HubClient(connection);
                connection.On<JsonElement, DateTimeOffset>("words", (_, _) =>
                {
                    Interlocked.Increment(ref hub.Words);
                    hub.LastWords = DateTime.UtcNow;
                });
                connection.Reconnected += _ =>
                {
                    hub.ReconnectedAt = DateTime.UtcNow;
                    Interlocked.Increment(ref hub.Reconnects);
                    return Task.CompletedTask;
                };
                connection.Reconnecting += error =>
                {
                    hub.Troubles.Enqueue($"{DateTime.UtcNow:HH:mm:ss} {name} reconnecting: {error?.GetType().Name} {error?.Message}");
                    return Task.CompletedTask;
                };
                connection.Closed += async error =>
                {
                    hub.Troubles.Enqueue($"{DateTime.UtcNow:HH:mm:ss} {name} closed: {error?.GetType().Name} {error?.Message}");
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }
                    try
                    {
                        await connection.StartAsync(stop);
                        Interlocked.Increment(ref hub.Restarts);
                    }
                    catch (Exception e) when (e is HttpRequestException or InvalidOperationException or System.Net.WebSockets.WebSocketException
                                              or KeyNotFoundException or JsonException || e is OperationCanceledException && !stop.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref hub.FailedRestarts);
                        hub.Troubles.Enqueue($"{DateTime.UtcNow:HH:mm:ss} {name} start again failed: {e.GetType().Name} {e.Message}");
                    }
                };
                await connection.StartAsync(CancellationToken.None);
                _ = KeepActiveAsync(connection, stop);
                clients.Add(hub);
            }
        }
        return clients;
    }

    /// <summary>What calls.js sends on user activity, once a minute; missed while reconnecting, sent at the next tick.</summary>
    private static async Task KeepActiveAsync(HubConnection connection, CancellationToken stop)
    {
        using var minute = new PeriodicTimer(TimeSpan.FromMinutes(1));
        try
        {
            while (await minute.WaitForNextTickAsync(stop))
            {
                if (connection.State == HubConnectionState.Connected)
                {
                    try
                    {
                        await connection.InvokeAsync("Activity", stop);
                    }
                    catch (Exception e) when (e is InvalidOperationException or HubException)
                    {
                        // Lost between the check and the call: the next tick tries again.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task RoleAsync(HttpClient http, string admin, string name, string role)
    {
        var page = await (await http.SendAsync(Bearer(HttpMethod.Get, $"/api/admin/users?search={name}", admin))).Content.ReadFromJsonAsync<JsonElement>();
        var id = page.GetProperty("users")[0].GetProperty("id").GetString();
        (await http.SendAsync(Bearer(HttpMethod.Put, $"/api/admin/users/{id}/roles/{role}", admin))).EnsureSuccessStatusCode();
    }

    private static async Task<string> RegisterAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsJsonAsync("/api/accounts", new { username = name, password = Password });
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new BenchFailedException($"registering {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        return name;
    }

    private static async Task<(string Access, string Refresh)> SignInAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsJsonAsync("/api/auth/login", new { username = name, password = Password });
        if (!response.IsSuccessStatusCode)
        {
            throw new BenchFailedException($"signing in {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("access_token").GetString()!, body.GetProperty("refresh_token").GetString()!);
    }

    private static HttpRequestMessage Bearer(HttpMethod method, string path, string token, object? body = null) => new(method, path)
    {
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
        Content = body is null ? null : new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
    };
}
