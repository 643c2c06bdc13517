using System.Diagnostics;
using System.Net;
using Countersign.Accounts;
using Countersign.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Tests.Api;

public class RateLimitServer(Database database, StateStore store, string? sharedPrefix = null) : TestServer(database, store)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Defences:RateLimits:Enabled"] = "true";
        settings["Defences:Lockout:Enabled"] = "false";
        if (sharedPrefix is not null)
        {
            settings["Redis:KeyPrefix"] = sharedPrefix;
        }
    }
}

public sealed class SqliteRateLimitServer() : RateLimitServer(Database.Sqlite, StateStore.Memory);

public sealed class PostgresRateLimitServer() : RateLimitServer(Database.Postgres, StateStore.Redis);

/// <summary>Rate limits per client address, on each store.</summary>
public abstract class RateLimitSuite(RateLimitServer server) : ApiSuiteBase(server)
{
    [Fact]
    public async Task Login_allows_five_a_minute_then_answers_429_with_retry_after()
    {
        // Counted per address whatever the username, existing or not.
        var name = NewName();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            statuses.Add((await Login(name, "wrong")).StatusCode);
        }
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), statuses.Take(5));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[5]);
        var limited = await Login(name, Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        var body = await limited.Body();
        Assert.Equal("rate_limited", body.GetProperty("error").GetString());
        Assert.Equal(retryAfter, body.GetProperty("retry_after_seconds").GetInt32());
    }

    [Fact]
    public async Task Registration_allows_ten_a_minute_then_answers_429()
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            statuses.Add((await Client.PostJson("/api/accounts", new { username = NewName(), password = Password })).StatusCode);
        }
        Assert.True(statuses.Count(s => s == HttpStatusCode.Created) <= 10);
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
    }
}

public sealed class SqliteRateLimitTests(SqliteRateLimitServer server) : RateLimitSuite(server), IClassFixture<SqliteRateLimitServer>;

public sealed class PostgresRateLimitTests(PostgresRateLimitServer server) : RateLimitSuite(server), IClassFixture<PostgresRateLimitServer>;

/// <summary>Two nodes, each with its own database file, sharing one Redis: the limit is the cluster's, not the node's.</summary>
public sealed class TwoNodes : IAsyncLifetime
{
    private static readonly string Prefix = $"test:{Guid.NewGuid():N}:";

    public RateLimitServer A { get; } = new(Database.Sqlite, StateStore.Redis, Prefix);
    public RateLimitServer B { get; } = new(Database.Sqlite, StateStore.Redis, Prefix);

    public async Task InitializeAsync()
    {
        await A.InitializeAsync();
        await B.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}

public sealed class SharedLimitTests(TwoNodes nodes) : IClassFixture<TwoNodes>
{
    [Fact]
    public async Task Two_nodes_on_one_redis_share_the_login_limit()
    {
        var a = nodes.A.CreateClient();
        var b = nodes.B.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            var node = i % 2 == 0 ? a : b;
            Assert.Equal(HttpStatusCode.Unauthorized, (await node.PostJson("/api/auth/login", new { username = "nobody", password = "x" })).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await a.PostJson("/api/auth/login", new { username = "nobody", password = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await b.PostJson("/api/auth/login", new { username = "nobody", password = "x" })).StatusCode);
    }
}

/// <summary>Real Argon2id cost, defences out of the way, for the timing comparison.</summary>
public class ParityServer(Database database, StateStore store) : TestServer(database, store)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Passwords:MemoryKiB"] = "19456";
        settings["Passwords:Iterations"] = "2";
    }
}

public sealed class SqliteParityServer() : ParityServer(Database.Sqlite, StateStore.Memory);

public sealed class PostgresParityServer() : ParityServer(Database.Postgres, StateStore.Redis);

/// <summary>
/// An unknown username must cost what a wrong password costs (ASVS 6.3.8). Medians over 200 interleaved
/// tries each, each known user tried once so lockout never answers early; a tolerance of 10% keeps a
/// coarse clock or a busy neighbour from failing the test by chance (DESIGN §6).
/// </summary>
public abstract class ParitySuite(ParityServer server) : ApiSuiteBase(server)
{
    [Fact]
    public async Task Unknown_users_and_wrong_passwords_take_the_same_time()
    {
        const int tries = 200;
        var known = await CreateUsersAsync(tries);
        var unknown = Enumerable.Range(0, tries).Select(_ => NewName()).ToList();
        for (var i = 0; i < 10; i++)
        {
            await Login(NewName(), "warm up");
        }

        var knownTimes = new List<double>();
        var unknownTimes = new List<double>();
        for (var i = 0; i < tries; i++)
        {
            knownTimes.Add(await TimeAsync(known[i]));
            unknownTimes.Add(await TimeAsync(unknown[i]));
        }
        var (k, u) = (Median(knownTimes), Median(unknownTimes));
        Assert.True(Math.Abs(k - u) / Math.Max(k, u) < 0.10, $"median wrong-password {k:F2} ms vs unknown-user {u:F2} ms");
    }

    private async Task<double> TimeAsync(string name)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await Login(name, "not the password");
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return elapsed;
    }

    /// <summary>One real hash shared by every account: creating 200 users should not take 200 hashes.</summary>
    private Task<List<string>> CreateUsersAsync(int count) => WithScope(async sp =>
    {
        var users = sp.GetRequiredService<UserManager<User>>();
        var hash = users.PasswordHasher.HashPassword(null!, Password);
        var names = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var user = new User { Id = Guid.CreateVersion7(), UserName = NewName(), PasswordHash = hash, CreatedAt = DateTimeOffset.UtcNow };
            Assert.True((await users.CreateAsync(user)).Succeeded);
            names.Add(user.UserName!);
        }
        return names;
    });

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[(sorted.Count - 1) / 2] + sorted[sorted.Count / 2]) / 2;
    }
}

public sealed class SqliteParityTests(SqliteParityServer server) : ParitySuite(server), IClassFixture<SqliteParityServer>;

public sealed class PostgresParityTests(PostgresParityServer server) : ParitySuite(server), IClassFixture<PostgresParityServer>;
