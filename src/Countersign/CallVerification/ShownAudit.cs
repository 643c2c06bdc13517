using System.Threading.Channels;
using Countersign.Audit;
using Countersign.Sessions;
using Countersign.Storage;

namespace Countersign.CallVerification;

/// <summary>
/// Writes the "words shown" audit events (the seed's rule: pair and window, never the word) in batches,
/// off the paths that show the words. Every connected user is shown new words at each rotation and at
/// each connection; one transaction each would queue thousands of writes behind one another at a
/// boundary (measured: with 10,000 hub clients on SQLite the rotation push never got out in time).
/// Batches are written at most a second apart and on shutdown; a crash loses at most that second of
/// these events, which record a display and authorise nothing.
/// </summary>
public sealed partial class ShownAudit(IServiceScopeFactory scopes, ILogger<ShownAudit> logger) : BackgroundService
{
    private readonly Channel<(Guid User, Guid Pair, long Window)> _pending =
        Channel.CreateUnbounded<(Guid, Guid, long)>();

    public void Enqueue(Guid user, Guid pair, long window) => _pending.Writer.TryWrite((user, pair, window));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                await WriteBatchAsync(CancellationToken.None);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: what is queued is written below.
        }
        // Everything still queued, batch after batch (the rotation may add a last few meanwhile).
        while (_pending.Reader.Count > 0)
        {
            await WriteBatchAsync(CancellationToken.None);
        }
    }

    /// <summary>Writes everything queued so far in one transaction; tests call it to flush.</summary>
    public async Task WriteBatchAsync(CancellationToken ct)
    {
        var batch = new List<AuditEntry>();
        while (batch.Count < 20_000 && _pending.Reader.TryRead(out var item))
        {
            batch.Add(new AuditEntry(AuditActions.CallWordsShown, item.User, null, null,
                AuditDetail.Of(new { pair_id = item.Pair, window = item.Window })));
        }
        if (batch.Count == 0)
        {
            return;
        }
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            scope.ServiceProvider.GetRequiredService<AuditLog>().AddMany(db, batch);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogWriteFailed(logger, batch.Count, e);
        }
    }

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "Writing {Count} \"words shown\" audit events failed")]
    private static partial void LogWriteFailed(ILogger logger, int count, Exception exception);
}
