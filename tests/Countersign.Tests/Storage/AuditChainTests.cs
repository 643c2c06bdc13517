using Countersign.Audit;
using Countersign.Secrets;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Countersign.Tests.StorageTests;

/// <summary>
/// The audit log's parallel hash chains and signed checkpoints (issue 18): appends spread over chains on
/// PostgreSQL, and <c>audit verify</c> names the first bad row or checkpoint for every kind of tampering.
/// Each tampering test gets a database of its own.
/// </summary>
public abstract class AuditChainSuite(Database database)
{
    private async Task<TestServer> StartAsync(TimeSpan? checkpointInterval = null)
    {
        var server = new TestServer(database, database == Database.Postgres ? StateStore.Redis : StateStore.Memory);
        // The tests write their checkpoints themselves, unless one asks for the background writer.
        server.Settings["Audit:CheckpointInterval"] = (checkpointInterval ?? TimeSpan.FromHours(1)).ToString();
        await server.InitializeAsync();
        return server;
    }

    private static async Task<T> With<T>(TestServer server, Func<CountersignDb, IServiceProvider, Task<T>> work)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<CountersignDb>(), scope.ServiceProvider);
    }

    private static Task<AuditVerification> VerifyAsync(TestServer server) =>
        With(server, (db, sp) => AuditVerifier.VerifyAsync(db, sp.GetRequiredService<KeyMaterial>()));

    private static Task<AuditCheckpoint?> CheckpointAsync(TestServer server) =>
        With(server, (db, sp) => sp.GetRequiredService<AuditCheckpoints>().WriteAsync(db));

    /// <summary>Events from many writers at once, each alone in its transaction; returns them as stored.</summary>
    private static async Task<List<AuditEvent>> AppendAsync(TestServer server, int writers, int each, string tag)
    {
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < each; i++)
            {
                await With(server, async (db, sp) =>
                {
                    await sp.GetRequiredService<AuditLog>().RecordAloneAsync(db, new AuditEntry("chain_test", null, $"{tag}-{w}-{i}"));
                    return 0;
                });
            }
        })));
        return await With(server, (db, _) => db.AuditEvents.AsNoTracking().Where(e => e.Action == "chain_test").OrderBy(e => e.Id).ToListAsync());
    }

    private static Task<int> Update(TestServer server, long id, Action<Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<AuditEvent>> set) =>
        With(server, (db, _) => db.AuditEvents.Where(e => e.Id == id).ExecuteUpdateAsync(set));

    [Fact]
    public async Task Concurrent_writers_append_to_chains_that_all_verify()
    {
        await using var server = await StartAsync();
        var rows = await AppendAsync(server, writers: 16, each: 15, "concurrent");
        Assert.Equal(240, rows.Count);
        var chains = rows.GroupBy(r => r.Chain).ToList();
        if (database == Database.Postgres)
        {
            // Sixteen writers on sixteen chains: they found free chains rather than queueing on one.
            Assert.True(chains.Count > 1, $"all {rows.Count} events went to chain {chains[0].Key}");
        }
        else
        {
            Assert.Equal([0], chains.Select(c => c.Key));
        }
        await CheckpointAsync(server);
        var result = await VerifyAsync(server);
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(1, result.Checkpoints);
        Assert.True(result.Events >= 240);
    }

    [Fact]
    public async Task An_altered_event_is_named()
    {
        await using var server = await StartAsync();
        var rows = await AppendAsync(server, 4, 5, "altered");
        await CheckpointAsync(server);
        var victim = rows[7];
        await Update(server, victim.Id, s => s.SetProperty(e => e.Username, "someone-else"));
        var result = await VerifyAsync(server);
        Assert.Equal(victim.Id, result.FirstBrokenEvent);
        Assert.Contains("does not match its hash", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_event_names_the_one_after_it()
    {
        await using var server = await StartAsync();
        var rows = await AppendAsync(server, 1, 6, "deleted");
        var victim = rows[2];
        await With(server, (db, _) => db.AuditEvents.Where(e => e.Id == victim.Id).ExecuteDeleteAsync());
        var next = rows.First(r => r.Chain == victim.Chain && r.Seq == victim.Seq + 1);
        var result = await VerifyAsync(server);
        Assert.Equal(next.Id, result.FirstBrokenEvent);
        Assert.Contains("a row is missing", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_events_swapped_in_order_are_found()
    {
        await using var server = await StartAsync();
        var rows = await AppendAsync(server, 1, 6, "swapped");
        var (a, b) = (rows[2], rows[3]);
        Assert.Equal(a.Chain, b.Chain);
        // Through a free number, as the unique (chain, seq) index would refuse a direct swap.
        await Update(server, a.Id, s => s.SetProperty(e => e.Seq, -1L));
        await Update(server, b.Id, s => s.SetProperty(e => e.Seq, a.Seq));
        await Update(server, a.Id, s => s.SetProperty(e => e.Seq, b.Seq));
        var result = await VerifyAsync(server);
        Assert.Equal(b.Id, result.FirstBrokenEvent);
    }

    [Fact]
    public async Task A_chain_cut_short_before_a_checkpoint_is_found_and_after_it_is_not()
    {
        await using var server = await StartAsync();
        var rows = await AppendAsync(server, 1, 5, "cut");
        await CheckpointAsync(server);
        var chain = rows[^1].Chain;
        var tail = await With(server, (db, _) => db.AuditEvents.Where(e => e.Chain == chain).OrderByDescending(e => e.Seq).FirstAsync());
        await With(server, (db, _) => db.AuditEvents.Where(e => e.Id == tail.Id).ExecuteDeleteAsync());
        var result = await VerifyAsync(server);
        Assert.False(result.Intact);
        Assert.Null(result.FirstBrokenEvent);
        Assert.Equal(1, result.FirstBrokenCheckpoint);
        Assert.Contains("were removed from its end", result.Problem, StringComparison.Ordinal);

        // What the checkpoints cannot see (docs/security.md): the tail written after the last one.
        await using var fresh = await StartAsync();
        var later = await AppendAsync(fresh, 1, 3, "before");
        await CheckpointAsync(fresh);
        var unprotected = await AppendAsync(fresh, 1, 2, "after");
        var lastId = unprotected[^1].Id;
        await With(fresh, (db, _) => db.AuditEvents.Where(e => e.Id == lastId).ExecuteDeleteAsync());
        Assert.True((await VerifyAsync(fresh)).Intact);
        Assert.NotEmpty(later);
    }

    [Fact]
    public async Task An_altered_or_removed_checkpoint_is_named()
    {
        await using var server = await StartAsync();
        for (var i = 0; i < 3; i++)
        {
            await AppendAsync(server, 1, 2, $"cp{i}");
            await CheckpointAsync(server);
        }
        var checkpoints = await With(server, (db, _) => db.AuditCheckpoints.AsNoTracking().OrderBy(c => c.Id).ToListAsync());
        Assert.Equal(3, checkpoints.Count);
        Assert.True((await VerifyAsync(server)).Intact);

        // Heads rewritten (to hide a cut), and the hash recomputed to match: without the key the MAC gives it away.
        var second = checkpoints[1];
        var heads = AuditCheckpoints.ParseHeads(second.Heads);
        var forged = AuditCheckpoints.FormatHeads(heads.Select(h => h with { Seq = h.Seq - 1 }));
        var forgedHash = AuditCheckpoints.Link(checkpoints[0].Hash, second.At, forged);
        await With(server, (db, _) => db.AuditCheckpoints.Where(c => c.Id == second.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Heads, forged).SetProperty(c => c.Hash, forgedHash)));
        var result = await VerifyAsync(server);
        Assert.Equal(second.Id, result.FirstBrokenCheckpoint);
        Assert.Contains("not signed", result.Problem, StringComparison.Ordinal);

        // Put back, then remove it: the next checkpoint no longer follows.
        await With(server, (db, _) => db.AuditCheckpoints.Where(c => c.Id == second.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Heads, second.Heads).SetProperty(c => c.Hash, second.Hash)));
        Assert.True((await VerifyAsync(server)).Intact);
        await With(server, (db, _) => db.AuditCheckpoints.Where(c => c.Id == second.Id).ExecuteDeleteAsync());
        result = await VerifyAsync(server);
        Assert.Equal(checkpoints[2].Id, result.FirstBrokenCheckpoint);
        Assert.Contains("does not follow", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_writes_checkpoints_by_itself()
    {
        await using var server = await StartAsync(TimeSpan.FromSeconds(1));
        await AppendAsync(server, 2, 3, "background");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await With(server, (db, _) => db.AuditCheckpoints.CountAsync()) == 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(200);
        }
        var result = await VerifyAsync(server);
        Assert.True(result.Checkpoints > 0, "no checkpoint within 10 s at a 1 s interval");
        Assert.True(result.Intact, result.Problem);
    }

    [Fact]
    public async Task The_cli_writes_a_checkpoint_and_verify_fails_on_a_cut_chain()
    {
        await using var server = await StartAsync();
        var rows = await AppendAsync(server, 1, 3, "cli");
        Assert.Equal(0, await Countersign.Cli.CountersignCli.Create(server.ConfigureBuilder).Parse(["audit", "checkpoint"]).InvokeAsync());
        Assert.Equal(1, (await VerifyAsync(server)).Checkpoints);
        Assert.Equal(0, await Countersign.Cli.CountersignCli.Create(server.ConfigureBuilder).Parse(["audit", "verify"]).InvokeAsync());
        var lastId = rows[^1].Id;
        await With(server, (db, _) => db.AuditEvents.Where(e => e.Id == lastId).ExecuteDeleteAsync());
        Assert.Equal(1, await Countersign.Cli.CountersignCli.Create(server.ConfigureBuilder).Parse(["audit", "verify"]).InvokeAsync());
    }

    [Fact]
    public async Task A_checkpoint_is_written_only_when_a_chain_moved()
    {
        await using var server = await StartAsync();
        await AppendAsync(server, 1, 2, "quiet");
        Assert.NotNull(await With(server, (db, sp) => sp.GetRequiredService<AuditCheckpoints>().WriteAsync(db)));
        Assert.Null(await With(server, (db, sp) => sp.GetRequiredService<AuditCheckpoints>().WriteAsync(db)));
    }
}

public sealed class SqliteAuditChainTests() : AuditChainSuite(Database.Sqlite);

public sealed class PostgresAuditChainTests() : AuditChainSuite(Database.Postgres)
{
    /// <summary>A PostgreSQL server that keeps the text of every command EF runs.</summary>
    private sealed class LoggedServer() : TestServer(Database.Postgres)
    {
        public Pages.CommandLog Log { get; } = new();

        protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IInterceptor>(Log);

        public static async Task<LoggedServer> StartAsync()
        {
            var server = new LoggedServer();
            await server.InitializeAsync();
            return server;
        }
    }

    /// <summary>A change (a new role) and the audit event that records it, staged in one unit of work; the role's name.</summary>
    private static string StageRoleAndEvent(IServiceProvider services, CountersignDb db, string? detail = null)
    {
        var name = "batch-" + Guid.NewGuid().ToString("N")[..8];
        db.Roles.Add(new Accounts.Role { Id = Guid.NewGuid(), Name = name, NormalizedName = name.ToUpperInvariant() });
        services.GetRequiredService<AuditLog>().Add(db, new AuditEntry("batch_test", null, name, null, detail));
        return name;
    }

    [Fact]
    public async Task A_change_and_its_audit_row_go_to_the_database_in_one_command()
    {
        await using var server = await LoggedServer.StartAsync();
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        string name;
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            name = StageRoleAndEvent(scope.ServiceProvider, db);
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }

        // One command holds the role's insert, the chain's lock and the event's insert, in that order.
        var command = Assert.Single(server.Log.Commands, c => c.Contains("INSERT INTO audit_events", StringComparison.Ordinal));
        var (role, chainLock, audit) = (command.IndexOf("INSERT INTO", StringComparison.Ordinal),
            command.IndexOf("countersign_audit_chain", StringComparison.Ordinal), command.IndexOf("INSERT INTO audit_events", StringComparison.Ordinal));
        Assert.True(role >= 0 && role < chainLock && chainLock < audit, command);
        Assert.Equal(1, await db.AuditEvents.CountAsync(e => e.Action == "batch_test" && e.Username == name));
        Assert.True((await AuditVerifier.VerifyAsync(db, scope.ServiceProvider.GetRequiredService<KeyMaterial>())).Intact);
    }

    [Fact]
    public async Task An_audit_row_the_database_refuses_in_the_batch_fails_the_save_and_the_change_is_not_written()
    {
        await using var server = await LoggedServer.StartAsync();
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        string name;
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            // A detail longer than its column (4,096): PostgreSQL refuses the event's insert, the command's last statement.
            name = StageRoleAndEvent(scope.ServiceProvider, db, new string('x', 5000));
            await Assert.ThrowsAnyAsync<Exception>(() => db.SaveChangesAsync());
        }
        Assert.Contains(server.Log.Commands, c => c.Contains("INSERT INTO audit_events", StringComparison.Ordinal));

        db.ChangeTracker.Clear();
        Assert.False(await db.Roles.AnyAsync(r => r.Name == name));
        Assert.False(await db.AuditEvents.AnyAsync(e => e.Username == name));
    }

    [Fact]
    public async Task A_transaction_holds_one_chain_lock_and_keeps_its_chain_for_a_second_save()
    {
        var server = new TestServer(Database.Postgres);
        await server.InitializeAsync();
        await using var _ = server;
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        var audit = scope.ServiceProvider.GetRequiredService<AuditLog>();
        await using var tx = await db.Database.BeginTransactionAsync();
        audit.Add(db, new AuditEntry("chain_test", null, "first"));
        await db.SaveChangesAsync();
        audit.Add(db, new AuditEntry("chain_test", null, "second"));
        await db.SaveChangesAsync();
        var locks = await db.Database.SqlQuery<int>($"""
            SELECT count(*)::int AS "Value" FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = {AuditChain.LockSpace}
            """).SingleAsync();
        await tx.CommitAsync();
        Assert.Equal(1, locks);
        var rows = await db.AuditEvents.AsNoTracking().Where(e => e.Action == "chain_test").OrderBy(e => e.Id).ToListAsync();
        Assert.Equal(rows[0].Chain, rows[1].Chain);
        Assert.Equal(rows[0].Seq + 1, rows[1].Seq);
    }
}
