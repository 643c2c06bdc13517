using Countersign.Operations;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Countersign.Audit;

/// <summary>What one shipping round did: rows copied, and whether a chain had more waiting than one round takes.</summary>
public sealed record ShipRound(int Events, int Checkpoints, bool More, bool OtherNodeShipping);

/// <summary>
/// Copies committed audit rows from the main database (the transactional outbox: each row committed with the
/// change it records, its hash sealed there) to the separate audit database (<see cref="AuditTrail"/>), in
/// (chain, seq) order with their hashes, then the checkpoints whose heads have all arrived. Every node runs it;
/// a round is one transaction in the audit database under an advisory lock there, so one node ships at a time,
/// and inserts that find their (chain, seq) already present do nothing, so a repeated round adds nothing even
/// without the lock. It resumes from the audit database's own last number per chain, so it keeps no state.
/// When the audit database is down nothing else notices: sign-ins write the main database only, the rows wait
/// there, and the rounds retry with backoff (event 4230, a metric, <c>/health/ready</c> Degraded).
/// </summary>
public sealed partial class AuditShipper(IServiceScopeFactory scopes, AuditTrail trail, IOptions<AuditOptions> options,
    CountersignMetrics metrics, TimeProvider time, ILogger<AuditShipper> log) : BackgroundService
{
    /// <summary>Rows per chain per round: with 16 chains a round copies at most 8,000 rows in one transaction.</summary>
    internal const int BatchPerChain = 500;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Since when rounds fail, and the last error; null while shipping works (read by the health check).</summary>
    internal (DateTimeOffset Since, string Error)? Failing { get; private set; }

    /// <summary>One round: everything committed in the main database and missing from the audit database, up to a batch per chain.</summary>
    public async Task<ShipRound> ShipOnceAsync(CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        await using var connection = await trail.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (!await AuditTrail.TryLeadAsync(connection, tx, ct))
        {
            return new ShipRound(0, 0, More: false, OtherNodeShipping: true);
        }
        var heads = await AuditTrail.HeadsAsync(connection, tx, AuditTrail.Events, ct);
        var rows = await OutboxAsync(db, heads, ct);
        await AuditTrail.InsertEventsAsync(connection, tx, rows, ct);
        foreach (var row in rows)
        {
            heads[row.Chain] = Math.Max(heads.GetValueOrDefault(row.Chain), row.Seq);
        }

        // A checkpoint goes only once every head it signs is there, or verify of the audit database would read
        // the chain as cut short. Checkpoints commit in id order (the checkpoint lock), so "after the last" misses none.
        var last = await AuditTrail.LastCheckpointAsync(connection, tx, ct);
        var pending = await db.AuditCheckpoints.AsNoTracking().Where(c => c.Id > last).OrderBy(c => c.Id).Take(BatchPerChain).ToListAsync(ct);
        var checkpoints = pending.TakeWhile(c => AuditCheckpoints.ParseHeads(c.Heads).All(h => heads.GetValueOrDefault(h.Chain) >= h.Seq)).ToList();
        await AuditTrail.InsertCheckpointsAsync(connection, tx, checkpoints, ct);
        await tx.CommitAsync(ct);
        metrics.AuditShipped(rows.Count, checkpoints.Count);
        var more = rows.GroupBy(r => r.Chain).Any(g => g.Count() == BatchPerChain) || pending.Count == BatchPerChain;
        return new ShipRound(rows.Count, checkpoints.Count, more, OtherNodeShipping: false);
    }

    /// <summary>
    /// The main database's rows after <paramref name="shipped"/>'s numbers, per chain in order, in one query:
    /// the chains by a loose index scan, then up to a batch of each by the (Chain, Seq) index. A chain's rows
    /// become visible in order with no gaps, since its lock is held until commit (<see cref="AuditChain"/>).
    /// </summary>
    private static async Task<List<AuditEvent>> OutboxAsync(CountersignDb db, Dictionary<int, long> shipped, CancellationToken ct)
    {
        var rows = await db.AuditEvents.FromSqlRaw("""
            WITH RECURSIVE chains AS (
                SELECT min("Chain") AS c FROM audit_events
                UNION ALL
                SELECT (SELECT min("Chain") FROM audit_events WHERE "Chain" > chains.c) FROM chains WHERE chains.c IS NOT NULL)
            SELECT e.* FROM chains
            LEFT JOIN unnest(@chains, @seqs) AS s(c, seq) ON s.c = chains.c
            CROSS JOIN LATERAL (
                SELECT * FROM audit_events
                WHERE "Chain" = chains.c AND "Seq" > coalesce(s.seq, 0)
                ORDER BY "Seq" LIMIT @batch) AS e
            WHERE chains.c IS NOT NULL
            """,
            new NpgsqlParameter<int[]>("chains", [.. shipped.Keys]),
            new NpgsqlParameter<long[]>("seqs", [.. shipped.Keys.Select(k => shipped[k])]),
            new NpgsqlParameter<int>("batch", BatchPerChain)).AsNoTracking().ToListAsync(ct);
        return [.. rows.OrderBy(r => r.Chain).ThenBy(r => r.Seq)];
    }

    /// <summary>How many events and checkpoints of the main database the audit database does not have yet.</summary>
    public async Task<(long Events, long Checkpoints)> WaitingAsync(CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        Dictionary<int, long> shipped;
        long lastCheckpoint;
        await using (var connection = await trail.OpenAsync(ct))
        {
            shipped = await AuditTrail.HeadsAsync(connection, null, AuditTrail.Events, ct);
            lastCheckpoint = await AuditTrail.LastCheckpointAsync(connection, null, ct);
        }
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            var main = await AuditTrail.HeadsAsync((NpgsqlConnection)db.Database.GetDbConnection(), null, "audit_events", ct);
            // Chains are numbered without gaps, so what waits is the difference of the heads.
            var events = main.Sum(h => Math.Max(0, h.Value - shipped.GetValueOrDefault(h.Key)));
            return (events, await db.AuditCheckpoints.LongCountAsync(c => c.Id > lastCheckpoint, ct));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ShipInterval;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = interval;
            try
            {
                var round = await ShipOnceAsync(stoppingToken);
                if (failures > 0)
                {
                    Resumed(log, failures);
                }
                failures = 0;
                Failing = null;
                wait = round.More ? TimeSpan.Zero : interval;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The rows stay in the main database's outbox; nothing is lost by waiting.
                failures++;
                Failing = (Failing?.Since ?? time.GetUtcNow(), e.Message);
                metrics.AuditShipFailed();
                wait = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, interval.Ticks << Math.Min(failures, 16)));
                ShippingFailed(log, failures, wait, e);
            }
            try
            {
                await Task.Delay(wait, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 4230, EventName = "AuditShippingFailed", Level = LogLevel.Warning,
        Message = "Shipping audit rows to the audit database failed ({Failures} in a row); they wait in the main database, next try in {RetryIn}")]
    private static partial void ShippingFailed(ILogger logger, int failures, TimeSpan retryIn, Exception exception);

    [LoggerMessage(EventId = 4231, EventName = "AuditShippingResumed", Level = LogLevel.Information,
        Message = "Shipping audit rows to the audit database works again after {Failures} failed rounds")]
    private static partial void Resumed(ILogger logger, int failures);
}

/// <summary>
/// <c>/health/ready</c> says Degraded (still 200) while shipping fails: sign-in does not depend on the audit
/// database, so the node stays in the load balancer, and monitoring sees that the outbox is growing.
/// </summary>
internal sealed class AuditShippingHealthCheck(AuditShipper shipper) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(shipper.Failing is { } failing
            ? HealthCheckResult.Degraded($"audit database unreachable since {failing.Since:u}; events wait in the main database: {failing.Error}")
            : HealthCheckResult.Healthy());
}
