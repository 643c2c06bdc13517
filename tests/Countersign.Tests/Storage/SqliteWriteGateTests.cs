using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.StorageTests;

/// <summary>
/// Embedded mode lets one SQLite write at a time in, waiting asynchronously, instead of leaving writers to
/// SQLite's busy retry (which sleeps the thread, up to 30 s).
/// </summary>
public sealed class SqliteWriteGateTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private (AsyncServiceScope Scope, CountersignDb Db) Context()
    {
        var scope = server.Services.CreateAsyncScope();
        return (scope, scope.ServiceProvider.GetRequiredService<CountersignDb>());
    }

    [Fact]
    public async Task A_second_write_transaction_waits_for_the_first_to_commit()
    {
        var (firstScope, first) = Context();
        var (secondScope, second) = Context();
        await using (firstScope)
        await using (secondScope)
        {
            var open = await first.Database.BeginTransactionAsync();
            var waiting = second.Database.BeginTransactionAsync();
            await Task.Delay(300);
            Assert.False(waiting.IsCompleted, "the second transaction started while the first was open");
            await open.CommitAsync();
            await using var started = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
            await started.CommitAsync();
            await open.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_write_given_up_while_waiting_does_not_keep_the_gate()
    {
        var (firstScope, first) = Context();
        var (secondScope, second) = Context();
        var (thirdScope, third) = Context();
        await using (firstScope)
        await using (secondScope)
        await using (thirdScope)
        {
            var open = await first.Database.BeginTransactionAsync();
            using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Database.BeginTransactionAsync(giveUp.Token));
            await open.CommitAsync();
            await open.DisposeAsync();
            await using var next = await third.Database.BeginTransactionAsync().WaitAsync(TimeSpan.FromSeconds(5));
            await next.RollbackAsync();
        }
    }

    [Fact]
    public async Task A_transaction_disposed_without_commit_lets_the_next_one_in()
    {
        var (firstScope, first) = Context();
        var (secondScope, second) = Context();
        await using (firstScope)
        await using (secondScope)
        {
            await (await first.Database.BeginTransactionAsync()).DisposeAsync();
            await using var next = await second.Database.BeginTransactionAsync().WaitAsync(TimeSpan.FromSeconds(5));
            await next.RollbackAsync();
        }
    }

    [Fact]
    public async Task Concurrent_writers_all_finish_and_every_write_lands()
    {
        const int writers = 40;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(async i =>
        {
            await using var scope = server.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
            await using var tx = await db.Database.BeginTransactionAsync();
            scope.ServiceProvider.GetRequiredService<Audit.AuditLog>().Add(db, new("gate_test", null, $"writer{i}", null, null));
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        })).WaitAsync(TimeSpan.FromSeconds(30));
        await using var check = server.Services.CreateAsyncScope();
        Assert.Equal(writers, await check.ServiceProvider.GetRequiredService<CountersignDb>().AuditEvents.CountAsync(e => e.Action == "gate_test"));
        // The hash chain stays whole: each append read the true tail.
        Assert.Null((await Audit.AuditVerifier.VerifyAsync(check.ServiceProvider.GetRequiredService<CountersignDb>(), check.ServiceProvider.GetRequiredService<Countersign.Secrets.KeyMaterial>())).Problem);
    }
}
