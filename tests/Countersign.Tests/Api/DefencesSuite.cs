using System.Net.Http.Json;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Countersign.Audit;
using Countersign.Cli;
using Countersign.Defences;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace Countersign.Tests.Api;

public class LockoutServer(Database database, StateStore ephemeral) : TestServer(database, ephemeral)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        settings["Defences:Captcha:MaxNumber"] = "2000";
    }
}

public sealed class SqliteLockoutServer() : LockoutServer(Database.Sqlite, StateStore.Memory);

public sealed class PostgresLockoutServer() : LockoutServer(Database.Postgres, StateStore.Redis);

/// <summary>Account lockout, run on SQLite with the in-memory store and on PostgreSQL with Redis.</summary>
public abstract class LockoutSuite(LockoutServer server) : ApiSuiteBase(server)
{
    [Fact]
    public async Task Five_failures_lock_the_username_until_the_lock_expires()
    {
        var name = await RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Login(name, "wrong")).StatusCode);
        }
        var locked = await Login(name, Password);
        Assert.Equal((HttpStatusCode)423, locked.StatusCode);
        var body = await locked.Body();
        Assert.Equal("account_locked", body.GetProperty("error").GetString());
        Assert.InRange(body.GetProperty("retry_after_seconds").GetInt32(), 890, 900);
        Assert.Equal(body.GetProperty("retry_after_seconds").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
            locked.Headers.GetValues("Retry-After").Single());
        Assert.True(body.GetProperty("captcha").TryGetProperty("signature", out _));

        Server.Clock!.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal((HttpStatusCode)423, (await Login(name, Password)).StatusCode);
        Server.Clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
    }

    [Fact]
    public async Task An_unknown_username_locks_the_same_way()
    {
        var ghost = NewName();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Login(ghost, "guess" + i)).StatusCode);
        }
        Assert.Equal((HttpStatusCode)423, (await Login(ghost, "guess")).StatusCode);
    }

    [Fact]
    public async Task A_success_clears_the_count()
    {
        var name = await RegisterAsync();
        for (var i = 0; i < 4; i++)
        {
            await Login(name, "wrong");
        }
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Login(name, "wrong")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
    }

    [Fact]
    public async Task Parallel_wrong_attempts_never_get_more_password_checks_than_the_limit()
    {
        var name = await RegisterAsync();
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return (await Login(name, "wrong" + i)).StatusCode;
        })).ToList();
        start.Set();
        var statuses = await Task.WhenAll(attempts);
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.Unauthorized), 1, 5);
        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.Unauthorized, (HttpStatusCode)423 }));
        var checks = await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .CountAsync(e => e.Action == AuditActions.LoginFailed && e.Username == name));
        Assert.InRange(checks, 1, 5);
    }

    [Fact]
    public async Task A_locked_user_gets_in_with_a_solved_challenge()
    {
        var name = await RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            await Login(name, "wrong");
        }
        var locked = await (await Login(name, Password)).Body();
        var solution = Captcha.Solve(locked.GetProperty("captcha").Deserialize<CaptchaChallenge>()!);

        // A wrong password with a solution is still a failure, and the solution is spent.
        var challenge2 = (await (await Login(name, Password)).Body()).GetProperty("captcha").Deserialize<CaptchaChallenge>()!;
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/login", new { username = name, password = "wrong", captcha = Captcha.Solve(challenge2) })).StatusCode);

        var ok = await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = solution });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
    }

    [Fact]
    public async Task An_admin_sees_and_clears_a_lock_and_it_is_audited()
    {
        var name = await RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            await Login(name, "wrong");
        }
        var admin = await AdminTokenAsync();
        var status = await (await Client.SendAsync(WithToken(HttpMethod.Get, $"/api/admin/lockouts/{name}", admin))).Body();
        Assert.Equal(5, status.GetProperty("failed_count").GetInt32());
        Assert.Equal(0, status.GetProperty("remaining_attempts").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, status.GetProperty("locked_until").ValueKind);

        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/lockouts/{name}", admin))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == AuditActions.LockoutCleared && e.Username == name)));
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == AuditActions.LockedOut && e.Username == name)));

        var user = await (await Client.SendAsync(WithToken(HttpMethod.Get, $"/api/admin/lockouts/{name}",
            (await LoginAsync(name)).GetProperty("access_token").GetString()!))).Content.ReadAsStringAsync();
        Assert.Contains("forbidden", user, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_access_token_stops_working_after_five_minutes()
    {
        var token = (await LoginAsync(await RegisterAsync())).GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", token))).StatusCode);
        Server.Clock!.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(31));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", token))).StatusCode);
    }

    /// <summary>In-memory store: through the running server's admin socket; Redis: on the shared store.</summary>
    [Fact]
    public async Task The_cli_shows_and_clears_the_lock_the_running_server_enforces()
    {
        var name = await RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            await Login(name, "wrong");
        }
        Assert.Equal((HttpStatusCode)423, (await Login(name, Password)).StatusCode);
        var (exit, output, _) = await CliRunner.RunAsync(Server.ConfigureBuilder, "lockouts", "show", name);
        Assert.Equal(0, exit);
        Assert.Contains("failed attempts:    5", output, StringComparison.Ordinal);
        Assert.DoesNotContain("not locked", output, StringComparison.Ordinal);
        Assert.Contains("remaining attempts: 0", output, StringComparison.Ordinal);

        (exit, output, _) = await CliRunner.RunAsync(Server.ConfigureBuilder, "lockouts", "unlock", name);
        Assert.Equal(0, exit);
        Assert.Contains($"Unlocked {name}.", output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == AuditActions.LockoutCleared && e.Username == name)));
        (_, output, _) = await CliRunner.RunAsync(Server.ConfigureBuilder, "lockouts", "show", name);
        Assert.Contains("not locked", output, StringComparison.Ordinal);
    }

    private async Task<string> AdminTokenAsync() => await TokenAsync(await UserWithRoleAsync(Accounts.Roles.Admin));
}

public sealed class SqliteLockoutTests(SqliteLockoutServer server) : LockoutSuite(server), IClassFixture<SqliteLockoutServer>
{
    [Fact]
    public async Task Without_a_running_server_the_cli_says_so_changes_nothing_and_audits_nothing()
    {
        var name = await RegisterAsync();
        void Elsewhere(WebApplicationBuilder b)
        {
            Server.ConfigureBuilder(b);
            // The same database, but the socket of a server that is not running.
            b.Configuration["LocalAdmin:SocketPath"] = Path.Combine(Path.GetTempPath(), $"cs-none-{Guid.NewGuid():N}.sock");
        }
        var (exit, output, error) = await CliRunner.RunAsync(Elsewhere, "lockouts", "unlock", name);
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Contains("no server is running", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        (exit, output, error) = await CliRunner.RunAsync(Elsewhere, "lockouts", "show", name);
        Assert.Equal(1, exit);
        Assert.DoesNotContain("not locked", output, StringComparison.Ordinal);
        Assert.False(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == AuditActions.LockoutCleared && e.Username == name)));
    }
}

public sealed class PostgresLockoutTests(PostgresLockoutServer server) : LockoutSuite(server), IClassFixture<PostgresLockoutServer>;

public class CaptchaServer(Database database, StateStore ephemeral) : TestServer(database, ephemeral)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        Clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        settings["Defences:Captcha:Enabled"] = "true";
        settings["Defences:Captcha:MaxNumber"] = "2000";
        settings["Defences:Lockout:Enabled"] = "false";
    }
}

public sealed class SqliteCaptchaServer() : CaptchaServer(Database.Sqlite, StateStore.Memory);

public sealed class PostgresCaptchaServer() : CaptchaServer(Database.Postgres, StateStore.Redis);

/// <summary>The proof-of-work requirement per client address.</summary>
public abstract class CaptchaSuite(CaptchaServer server) : ApiSuiteBase(server)
{
    /// <summary>Five failures from this address (all tests share 127.0.0.1) switch the requirement on.</summary>
    private async Task<CaptchaChallenge> RequireCaptchaAsync()
    {
        for (var i = 0; i < 6; i++)
        {
            var response = await Login(NewName(), "guess");
            if (response.StatusCode == (HttpStatusCode)428)
            {
                var body = await response.Body();
                Assert.Equal("captcha_required", body.GetProperty("error").GetString());
                return body.GetProperty("captcha").Deserialize<CaptchaChallenge>()!;
            }
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        throw new Xunit.Sdk.XunitException("no 428 after five failures");
    }

    [Fact]
    public async Task After_five_failures_every_attempt_needs_a_solution_and_a_solution_works_once()
    {
        var name = await RegisterAsync();
        var challenge = await RequireCaptchaAsync();
        Assert.Equal((HttpStatusCode)428, (await Login(name, Password)).StatusCode);

        var solution = Captcha.Solve(challenge);
        Assert.Equal(HttpStatusCode.OK, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = solution })).StatusCode);
        // The same solution again is refused: it was spent.
        Assert.Equal((HttpStatusCode)428, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = solution })).StatusCode);
    }

    [Fact]
    public async Task The_challenge_endpoint_serves_signed_challenges_that_expire()
    {
        var name = await RegisterAsync();
        await RequireCaptchaAsync();
        var challenge = await Client.GetFromJsonAsync<CaptchaChallenge>("/api/captcha/challenge", Json.Options);
        Assert.Equal("SHA-256", challenge!.Algorithm);
        Assert.Contains("?expires=", challenge.Salt, StringComparison.Ordinal);
        var solution = Captcha.Solve(challenge);
        Server.Clock!.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.Equal((HttpStatusCode)428, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = solution })).StatusCode);
    }

    [Fact]
    public async Task A_forged_signature_or_a_wrong_number_is_refused()
    {
        var name = await RegisterAsync();
        var challenge = await RequireCaptchaAsync();
        // The attacker makes up an easy challenge of their own and signs it with a guess.
        var forged = challenge with { Salt = "abc?expires=9999999999", MaxNumber = 1 };
        var forgedSolution = Captcha.Solve(forged with { Challenge = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("abc?expires=99999999990"u8)) });
        Assert.Equal((HttpStatusCode)428, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = forgedSolution })).StatusCode);

        var real = JsonDocument.Parse(Convert.FromBase64String(Captcha.Solve(challenge))).RootElement;
        var wrongNumber = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new
        {
            algorithm = "SHA-256",
            challenge = real.GetProperty("challenge").GetString(),
            number = real.GetProperty("number").GetInt32() + 1,
            salt = real.GetProperty("salt").GetString(),
            signature = real.GetProperty("signature").GetString(),
        }));
        Assert.Equal((HttpStatusCode)428, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = wrongNumber })).StatusCode);
        Assert.Equal((HttpStatusCode)428, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = "bm90IGpzb24=" })).StatusCode);
    }

    /// <summary>The solution's fields, for a test that tampers with them.</summary>
    private static string Payload(string challenge, int number, string salt, string signature) =>
        Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new { algorithm = "SHA-256", challenge, number, salt, signature }));

    [Fact]
    public async Task M2_a_solved_challenge_cannot_be_redated_by_moving_digits_of_the_number_into_the_salt()
    {
        var name = await RegisterAsync();
        await RequireCaptchaAsync();
        // A challenge whose secret number has at least two digits, so one can move.
        JsonElement real;
        do
        {
            var challenge = await Client.GetFromJsonAsync<CaptchaChallenge>("/api/captcha/challenge", Json.Options);
            real = JsonDocument.Parse(Convert.FromBase64String(Captcha.Solve(challenge!))).RootElement;
        }
        while (real.GetProperty("number").GetInt32() < 10);
        var number = real.GetProperty("number").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (hash, salt, signature) = (real.GetProperty("challenge").GetString()!, real.GetProperty("salt").GetString()!, real.GetProperty("signature").GetString()!);
        // The challenge expires; the attacker moves the number's first digit onto the end of the salt, which keeps
        // SHA-256(salt ‖ number) and so the signature, and pushes a trailing expires= centuries ahead.
        Server.Clock!.Advance(TimeSpan.FromMinutes(6));
        var moved = Payload(hash, int.Parse(number[1..], System.Globalization.CultureInfo.InvariantCulture), salt + number[0], signature);
        var trimmed = Payload(hash, int.Parse(number[1..], System.Globalization.CultureInfo.InvariantCulture), salt.TrimEnd('&') + number[0], signature);
        foreach (var forged in new[] { moved, trimmed })
        {
            Assert.Equal((HttpStatusCode)428, (await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = forged })).StatusCode);
        }
    }

    [Theory]
    [InlineData("a?expires=99999999999999")]
    [InlineData("a?expires=99999999999999999999999")]
    [InlineData("000000000000000000000000?expires=9999999999&")]
    public async Task M1_3_a_salt_with_an_absurd_expiry_is_refused_not_a_crash(string salt)
    {
        var name = await RegisterAsync();
        await RequireCaptchaAsync();
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(salt + "1")));
        var response = await Client.PostJson("/api/auth/login", new { username = name, password = Password, captcha = Payload(hash, 1, salt, new string('0', 64)) });
        Assert.Equal((HttpStatusCode)428, response.StatusCode);
    }
}

public sealed class SqliteCaptchaTests(SqliteCaptchaServer server) : CaptchaSuite(server), IClassFixture<SqliteCaptchaServer>;

public sealed class PostgresCaptchaTests(PostgresCaptchaServer server) : CaptchaSuite(server), IClassFixture<PostgresCaptchaServer>;
