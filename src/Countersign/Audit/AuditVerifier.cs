using System.Security.Cryptography;
using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Audit;

/// <summary>What <see cref="AuditVerifier.VerifyAsync"/> found: counts, and the first problem or none.</summary>
public sealed record AuditVerification(long Events, int Chains, int Checkpoints, long? FirstBrokenEvent, long? FirstBrokenCheckpoint, string? Problem)
{
    public bool Intact => Problem is null;
}

/// <summary>
/// Checks the audit log: each chain row by row (its sequence 1, 2, 3 … and each row's hash over the previous
/// one's), then the checkpoint chain (each linked to the one before and signed with the checkpoint key), and
/// that every head a checkpoint recorded is still there with the hash it had: an edited, deleted, reordered
/// or inserted row is found where it is, a chain cut short before the last checkpoint by the checkpoint.
/// What it cannot see: rows appended after the last checkpoint and then removed together with everything
/// after them (docs/security.md, "Audit").
/// </summary>
public static class AuditVerifier
{
    /// <summary>The main database's audit log.</summary>
    public static Task<AuditVerification> VerifyAsync(CountersignDb db, KeyMaterial keys, CancellationToken ct = default) =>
        VerifyAsync(db.AuditCheckpoints.AsNoTracking().OrderBy(c => c.Id).AsAsyncEnumerable(),
            db.AuditEvents.AsNoTracking().OrderBy(e => e.Chain).ThenBy(e => e.Seq).AsAsyncEnumerable(), keys, ct);

    /// <summary>The separate audit database's copy (<see cref="AuditTrail"/>), checked the same way.</summary>
    public static Task<AuditVerification> VerifyAsync(AuditTrail trail, KeyMaterial keys, CancellationToken ct = default) =>
        VerifyAsync(trail.ReadCheckpointsAsync(ct), trail.ReadEventsAsync(ct), keys, ct);

    /// <summary>
    /// <paramref name="checkpointSource"/> in id order, read to the end before <paramref name="eventSource"/> (in chain, then
    /// number, order) is begun: every head a checkpoint names was committed before it, so the events read
    /// afterwards include it, even while the server keeps writing.
    /// </summary>
    private static async Task<AuditVerification> VerifyAsync(IAsyncEnumerable<AuditCheckpoint> checkpointSource,
        IAsyncEnumerable<AuditEvent> eventSource, KeyMaterial keys, CancellationToken ct)
    {
        // The checkpoints first (few): which (chain, seq) must still hold which hash.
        var checkpoints = new List<AuditCheckpoint>();
        await foreach (var c in checkpointSource.WithCancellation(ct))
        {
            checkpoints.Add(c);
        }
        var expected = new Dictionary<(int Chain, long Seq), (string Hash, long Checkpoint)>();
        long? brokenCheckpoint = null;
        string? checkpointProblem = null;
        byte[]? previousCheckpoint = null;
        foreach (var c in checkpoints)
        {
            if (!CryptographicOperations.FixedTimeEquals(AuditCheckpoints.Link(previousCheckpoint, c.At, c.Heads), c.Hash))
            {
                (brokenCheckpoint, checkpointProblem) = (c.Id, $"checkpoint {c.Id} does not follow from the one before it (altered, removed or reordered)");
                break;
            }
            if (!CryptographicOperations.FixedTimeEquals(AuditCheckpoints.Sign(keys.AuditCheckpointKey, c.Hash), c.Mac))
            {
                (brokenCheckpoint, checkpointProblem) = (c.Id, $"checkpoint {c.Id} is not signed by this deployment's key");
                break;
            }
            foreach (var head in AuditCheckpoints.ParseHeads(c.Heads))
            {
                expected.TryAdd((head.Chain, head.Seq), (head.Hash, c.Id));
            }
            previousCheckpoint = c.Hash;
        }

        long events = 0;
        var chains = 0;
        long? brokenEvent = null;
        string? eventProblem = null;
        int? chain = null;
        long seq = 0;
        byte[]? previous = null;
        var chainBroken = false;
        await foreach (var row in eventSource.WithCancellation(ct))
        {
            if (row.Chain != chain)
            {
                (chain, seq, previous, chainBroken) = (row.Chain, 0, null, false);
                chains++;
            }
            events++;
            if (chainBroken)
            {
                continue; // one problem per chain: the first
            }
            string? problem = null;
            if (row.Seq != seq + 1)
            {
                problem = $"event {row.Id} is number {row.Seq} of chain {row.Chain}, after number {seq} (a row is missing or was moved)";
            }
            else if (!CryptographicOperations.FixedTimeEquals(AuditChain.ComputeHash(previous, row), row.Hash))
            {
                problem = $"event {row.Id} (chain {row.Chain}, number {row.Seq}) does not match its hash (altered, or the row before it was)";
            }
            else if (expected.Remove((row.Chain, row.Seq), out var recorded) && recorded.Hash != Convert.ToHexStringLower(row.Hash))
            {
                problem = $"event {row.Id} (chain {row.Chain}, number {row.Seq}) differs from what checkpoint {recorded.Checkpoint} recorded";
            }
            if (problem is not null)
            {
                chainBroken = true;
                if (brokenEvent is null || row.Id < brokenEvent)
                {
                    (brokenEvent, eventProblem) = (row.Id, problem);
                }
                continue;
            }
            (seq, previous) = (row.Seq, row.Hash);
        }
        if (eventProblem is null && checkpointProblem is null && expected.Count > 0)
        {
            // A head some checkpoint recorded is gone: the chain was cut back past it.
            var ((missingChain, missingSeq), (_, at)) = expected.OrderBy(e => e.Value.Checkpoint).First();
            (brokenCheckpoint, checkpointProblem) = (at, $"chain {missingChain} ends before number {missingSeq}, which checkpoint {at} recorded (events were removed from its end)");
        }
        return new AuditVerification(events, chains, checkpoints.Count, brokenEvent, brokenCheckpoint, eventProblem ?? checkpointProblem);
    }
}
