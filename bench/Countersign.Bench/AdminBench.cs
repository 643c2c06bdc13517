using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

/// <summary>
/// The admin user list with many accounts (issue 16: "10,000 accounts stay fast", under 200 ms a page): the first page,
/// a page deep in the list (keyset cursor), and a prefix search, each <c>GET /api/admin/users?limit=50</c>, against
/// <c>GET /api/me</c> (the same bearer check and one indexed read) as the baseline, interleaved A B A B in one run, one
/// server on PostgreSQL. The accounts are inserted straight into the table (the list reads rows; hashing 10,000 passwords
/// would only make the setup slow).
/// </summary>
internal static class AdminBench
{
    private const string Password = "violet Anchor 7 drifting kites";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--accounts", "--iterations", "--postgres", "--server");
        var smoke = options.Smoke;
        var dll = options.Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required");
        var postgres = options.Get("--postgres") ?? throw new ArgumentException("--postgres CONNECTION is required");
        var accounts = smoke ? 1000 : int.Parse(options.Get("--accounts") ?? "10000", CultureInfo.InvariantCulture);
        var iterations = smoke ? 20 : int.Parse(options.Get("--iterations") ?? "300", CultureInfo.InvariantCulture);
        var settings = new Dictionary<string, string>
        {
            ["Defences:RateLimits:Enabled"] = "false",
            ["QuadFactor:Enabled"] = "false",
        };
        await using var server = await Server.StartOnPostgresAsync(dll, postgres, settings, "admin");
        var connection = postgres.Replace("Database=postgres", $"Database={server.Database}", StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var admin = "benchadmin";
        (await http.PostAsJsonAsync("/api/accounts", new { username = admin, password = Password })).EnsureSuccessStatusCode();
        await using (var db = NpgsqlDataSource.Create(connection))
        {
            await using var grant = db.CreateCommand("""
                INSERT INTO "AspNetUserRoles" ("UserId", "RoleId")
                SELECT u."Id", r."Id" FROM "AspNetUsers" u, "AspNetRoles" r WHERE u."NormalizedUserName" = 'BENCHADMIN' AND r."NormalizedName" = 'ADMIN'
                """);
            await grant.ExecuteNonQueryAsync();
            await using var insert = db.CreateCommand("""
                INSERT INTO "AspNetUsers" ("Id", "UserName", "NormalizedUserName", "UsernameSkeleton", "EmailConfirmed", "PhoneNumberConfirmed",
                    "TwoFactorEnabled", "LockoutEnabled", "AccessFailedCount", "CreatedAt", "IsDisabled", "Language", "PasswordChangeRequired",
                    "SecurityStamp", "ConcurrencyStamp")
                SELECT gen_random_uuid(), 'bulk' || lpad(i::text, 6, '0'), 'BULK' || lpad(i::text, 6, '0'), 'bulk' || lpad(i::text, 6, '0'),
                    false, false, false, true, 0, now(), i % 50 = 0, 'en', false, md5(i::text), md5(i::text)
                FROM generate_series(1, $1) AS i
                """);
            insert.Parameters.AddWithValue(accounts);
            await insert.ExecuteNonQueryAsync();
            await using var analyze = db.CreateCommand("ANALYZE \"AspNetUsers\"");
            await analyze.ExecuteNonQueryAsync();
        }
        var login = await http.PostAsJsonAsync("/api/auth/login", new { username = admin, password = Password });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var deep = $"BULK{accounts * 3 / 4:D6}";
        var targets = new (string Name, string Path)[]
        {
            ("GET /api/me (baseline)", "/api/me"),
            ("users, first page", "/api/admin/users?limit=50"),
            ($"users, page after {deep}", $"/api/admin/users?limit=50&after={deep}"),
            ("users, search 'bulk0007'", "/api/admin/users?limit=50&search=bulk0007"),
        };
        // Each page really holds what it should, or the figures mean nothing.
        foreach (var (name, path) in targets[1..])
        {
            var page = await http.GetFromJsonAsync<JsonElement>(path);
            if (page.GetProperty("users").GetArrayLength() == 0)
            {
                throw new BenchFailedException($"{name} came back empty");
            }
        }
        var samples = targets.Select(_ => new List<double>()).ToArray();
        for (var warm = 0; warm < 20; warm++)
        {
            foreach (var (_, path) in targets)
            {
                (await http.GetAsync(path)).EnsureSuccessStatusCode();
            }
        }
        for (var i = 0; i < iterations; i++)
        {
            for (var t = 0; t < targets.Length; t++)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(targets[t].Path);
                await response.Content.ReadAsByteArrayAsync();
                samples[t].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    throw new BenchFailedException($"{targets[t].Name} answered {(int)response.StatusCode}");
                }
            }
        }
        Console.WriteLine($"{accounts + 1} accounts, {iterations} interleaved requests per target, one client");
        var baseline = Median(samples[0]);
        Console.WriteLine($"{"target",-40} {"median ms",10} {"p95 ms",8} {"× baseline",11}");
        for (var t = 0; t < targets.Length; t++)
        {
            var median = Median(samples[t]);
            Console.WriteLine($"{targets[t].Name,-40} {median,10:F2} {Percentile(samples[t], 0.95),8:F2} {median / baseline,11:F2}");
        }
        var worst = samples[1..].Max(s => Percentile(s, 0.95));
        Console.WriteLine(worst < 200 ? $"every page under 200 ms at p95 (worst {worst:F1} ms)" : $"a page took {worst:F1} ms at p95: over the 200 ms goal");
        return worst < 200 || smoke ? 0 : 1;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }
}
