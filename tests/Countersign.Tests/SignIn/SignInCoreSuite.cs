using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Storage;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.SignIn;

/// <summary>
/// The sign-in core's promises as each channel meets them, on SQLite with the in-memory store and on
/// PostgreSQL with Redis: only failures lock, and every route that can answer 423 answers it alike.
/// </summary>
public abstract partial class SignInCoreSuite(LockoutServer server) : ApiSuiteBase(server)
{
    [Fact]
    public async Task Parallel_correct_sign_ins_never_lock_the_account()
    {
        var name = await RegisterAsync();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, _) =>
            statuses.Add((await Login(name, Password)).StatusCode));
        Assert.Equal(200, statuses.Count(s => s == HttpStatusCode.OK));
    }

    [Fact]
    public async Task Every_route_that_signs_in_answers_a_lock_with_retry_after_and_a_challenge()
    {
        var name = await RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Login(name, "wrong")).StatusCode);
        }
        foreach (var (path, body) in new (string, object)[]
        {
            ("/api/auth/login", new { username = name, password = Password }),
            ("/api/auth/mfa/reset", new { username = name, password = Password, recovery_code = "aaaaa-bbbbb" }),
        })
        {
            var response = await Client.PostJson(path, body);
            Assert.Equal((HttpStatusCode)423, response.StatusCode);
            var problem = await response.Body();
            Assert.Equal("account_locked", problem.GetProperty("error").GetString());
            var seconds = problem.GetProperty("retry_after_seconds").GetInt32();
            Assert.InRange(seconds, 800, 900);
            Assert.Equal(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("Retry-After").Single());
            Assert.True(problem.GetProperty("captcha").TryGetProperty("signature", out _), path);
        }

        // The page says how long, sends the header, and hands the widget a challenge.
        using var browser = Server.CreateClient();
        var page = await (await browser.GetAsync("/login")).Content.ReadAsStringAsync();
        var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Username"] = name,
            ["Password"] = Password,
            ["__RequestVerificationToken"] = AntiforgeryToken().Match(page).Groups[1].Value,
        });
        var refused = await browser.PostAsync("/login", form);
        Assert.Equal((HttpStatusCode)423, refused.StatusCode);
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 800, 900);
        var html = await refused.Content.ReadAsStringAsync();
        Assert.Contains("minutes", html, StringComparison.Ordinal);
        Assert.Contains("<altcha-widget", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_mfa_reset_starts_no_session()
    {
        var name = await RegisterAsync();
        await WithScope(async sp =>
        {
            // No TOTP: nothing to reset, and a failure like any other (no session was started to find out).
            var before = await sp.GetRequiredService<CountersignDb>().SessionFamilies.CountAsync();
            var response = await Client.PostJson("/api/auth/mfa/reset", new { username = name, password = Password, recovery_code = "aaaaa-bbbbb" });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(before, await sp.GetRequiredService<CountersignDb>().SessionFamilies.CountAsync());
            return 0;
        });
    }

    [Fact]
    public async Task A_failure_before_the_commit_leaves_neither_the_change_nor_its_audit_row()
    {
        var name = await RegisterAsync();
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
            // The owner of the change: one transaction, the change, its audit row, one save; then the process
            // fails before the commit (the transaction is disposed without one).
            var admin = scope.ServiceProvider.GetRequiredService<AccountAdmin>();
            var user = (await admin.FindAsync(name))!;
            await using (var tx = await db.Database.BeginTransactionAsync())
            {
                user.IsDisabled = true;
                scope.ServiceProvider.GetRequiredService<AuditLog>().Add(db, new(AuditActions.UserDisabled, user.Id, user.UserName, null, "{}"));
                await db.SaveChangesAsync();
                Assert.True(await db.AuditEvents.AnyAsync(e => e.Action == AuditActions.UserDisabled && e.Username == name), "written, not committed");
            }
        }
        await WithScope(async sp =>
        {
            var db = sp.GetRequiredService<CountersignDb>();
            Assert.False((await db.Users.AsNoTracking().SingleAsync(u => u.UserName == name)).IsDisabled);
            Assert.False(await db.AuditEvents.AnyAsync(e => e.Action == AuditActions.UserDisabled && e.Username == name));
            return 0;
        });
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);
    }

    [Fact]
    public async Task An_audit_row_outside_a_transaction_is_refused_and_nothing_is_written()
    {
        await WithScope(async sp =>
        {
            var db = sp.GetRequiredService<CountersignDb>();
            sp.GetRequiredService<AuditLog>().Add(db, new("orphan_test"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync());
            db.ChangeTracker.Clear();
            Assert.False(await db.AuditEvents.AnyAsync(e => e.Action == "orphan_test"));
            return 0;
        });
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}

public sealed class SqliteSignInCoreTests(SqliteLockoutServer server) : SignInCoreSuite(server), IClassFixture<SqliteLockoutServer>;

public sealed class PostgresSignInCoreTests(PostgresLockoutServer server) : SignInCoreSuite(server), IClassFixture<PostgresLockoutServer>;
