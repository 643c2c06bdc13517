using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.Audit;

/// <summary>
/// Writes <see cref="AuditCheckpoint"/>s: every chain's head, hash-linked to the previous checkpoint and
/// signed (HMAC-SHA256 under <see cref="KeyMaterial.AuditCheckpointKey"/>). Any node may write one; the
/// checkpoint lock orders them across nodes, and a checkpoint is skipped when no chain moved.
/// </summary>
public sealed class AuditCheckpoints(KeyMaterial keys, TimeProvider time, IOptions<AuditOptions> options)
{
    /// <summary>Writes a checkpoint if any chain's head moved since the last; returns it, or null when nothing moved.</summary>
    public async Task<AuditCheckpoint?> WriteAsync(CountersignDb db, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (db.Database.IsNpgsql())
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({AuditChain.LockSpace}, {AuditChain.CheckpointLock})", ct);
        }
        var last = await db.AuditCheckpoints.AsNoTracking().OrderByDescending(c => c.Id).FirstOrDefaultAsync(ct);
        var known = last is null ? [] : ParseHeads(last.Heads).Select(h => h.Chain);
        var chains = Enumerable.Range(0, options.Value.Chains).Union(known).Order().ToList();
        var heads = new List<Head>();
        foreach (var chain in chains)
        {
            // One index lookup per chain ((Chain, Seq) is unique), however long the chains grow.
            var head = await db.AuditEvents.AsNoTracking().Where(e => e.Chain == chain).OrderByDescending(e => e.Seq)
                .Select(e => new { e.Seq, e.Hash }).FirstOrDefaultAsync(ct);
            if (head is not null)
            {
                heads.Add(new Head(chain, head.Seq, Convert.ToHexStringLower(head.Hash)));
            }
        }
        var text = FormatHeads(heads);
        if (heads.Count == 0 || text == last?.Heads)
        {
            return null;
        }
        var at = AuditChain.TruncateToMicroseconds(time.GetUtcNow());
        var hash = Link(last?.Hash, at, text);
        var checkpoint = new AuditCheckpoint { At = at, Heads = text, Hash = hash, Mac = Sign(keys.AuditCheckpointKey, hash) };
        db.AuditCheckpoints.Add(checkpoint);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return checkpoint;
    }

    public sealed record Head(int Chain, long Seq, string Hash);

    internal static string FormatHeads(IEnumerable<Head> heads) =>
        JsonSerializer.Serialize(heads.OrderBy(h => h.Chain).Select(h => new object[] { h.Chain, h.Seq, h.Hash }));

    /// <summary>The heads a checkpoint lists; a malformed list reads as none (the checkpoint's hash will not match it anyway).</summary>
    internal static List<Head> ParseHeads(string text)
    {
        try
        {
            using var json = JsonDocument.Parse(text);
            return [.. json.RootElement.EnumerateArray().Select(h => new Head(h[0].GetInt32(), h[1].GetInt64(), h[2].GetString() ?? ""))];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or IndexOutOfRangeException)
        {
            return [];
        }
    }

    /// <summary>SHA-256(previous checkpoint's hash ‖ SHA-256(microseconds since 1970 ‖ heads)).</summary>
    internal static byte[] Link(byte[]? previous, DateTimeOffset at, string heads)
    {
        var text = Encoding.UTF8.GetBytes(heads);
        var body = new byte[8 + text.Length];
        BinaryPrimitives.WriteInt64BigEndian(body, (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        text.CopyTo(body, 8);
        return SHA256.HashData([.. previous ?? AuditChain.Genesis, .. SHA256.HashData(body)]);
    }

    internal static byte[] Sign(byte[] key, byte[] hash) => HMACSHA256.HashData(key, hash);
}

/// <summary>Writes a checkpoint every <see cref="AuditOptions.CheckpointInterval"/> on every node (a quiet chain makes none).</summary>
public sealed partial class AuditCheckpointer(IServiceScopeFactory scopes, IOptions<AuditOptions> options, TimeProvider time, ILogger<AuditCheckpointer> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckpointInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<AuditCheckpoints>()
                    .WriteAsync(scope.ServiceProvider.GetRequiredService<CountersignDb>(), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The next tick tries again; the chains themselves are unaffected.
                CheckpointFailed(log, e);
            }
        }
    }

    [LoggerMessage(EventId = 4220, Level = LogLevel.Warning, Message = "Writing an audit checkpoint failed; the next interval tries again")]
    private static partial void CheckpointFailed(ILogger logger, Exception exception);
}
