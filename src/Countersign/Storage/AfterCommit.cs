using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Countersign.Storage;

/// <summary>
/// Work that must wait until the change it follows is visible to others: telling other nodes "this session
/// ended" before the commit would let one of them read the old row again and keep it, and logging a security
/// event for a change that then rolled back would report what never happened (Audit/SecurityEvents). Run at
/// once when there is no transaction (the change already committed on its own); otherwise held until the
/// caller's transaction commits, and dropped if it rolls back.
/// </summary>
public sealed class AfterCommit : DbTransactionInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, Staged> InFlight = [];

    private sealed record Staged(Guid TransactionId, List<Func<Task>> Actions);

    public static Task RunAsync(DbContext db, Func<Task> action)
    {
        if (db.Database.CurrentTransaction is not { } transaction)
        {
            return action();
        }
        if (InFlight.TryGetValue(db, out var staged) && staged.TransactionId == transaction.TransactionId)
        {
            staged.Actions.Add(action);
        }
        else
        {
            InFlight.AddOrUpdate(db, new Staged(transaction.TransactionId, [action]));
        }
        return Task.CompletedTask;
    }

    public override async Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        foreach (var action in Take(eventData))
        {
            await action();
        }
    }

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData)
    {
        foreach (var action in Take(eventData))
        {
            action().GetAwaiter().GetResult();
        }
    }

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Take(eventData);
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Take(eventData);

    public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Take(eventData);
        return Task.CompletedTask;
    }

    public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => Take(eventData);

    private static List<Func<Task>> Take(TransactionEventData eventData)
    {
        if (eventData.Context is { } db && InFlight.TryGetValue(db, out var staged) && staged.TransactionId == eventData.TransactionId)
        {
            InFlight.Remove(db);
            return staged.Actions;
        }
        return [];
    }
}
