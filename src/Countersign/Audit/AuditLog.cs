using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Audit;

public sealed record AuditEntry(string Action, Guid? UserId = null, string? Username = null, string? ClientIp = null, string? Detail = null);

/// <summary>
/// Appends to the hash chain inside the caller's transaction, so the event and the change it records
/// commit together or not at all: if the audit row cannot be written, the change fails (fail closed).
/// </summary>
public sealed class AuditLog(TimeProvider time)
{
    // Any fixed number: every node takes this PostgreSQL advisory lock to append, so the chain has one order.
    private const long ChainLock = 0x436F_756E_7465_72;

    /// <summary>
    /// Records an event as part of the open transaction on <paramref name="db"/>, saving it together with
    /// any pending changes of the caller.
    /// </summary>
    public async Task RecordAsync(CountersignDb db, AuditEntry entry, CancellationToken ct = default)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("An audit event must be written in the transaction of the change it records.");
        }
        var row = new AuditEvent
        {
            At = TruncateToMicroseconds(time.GetUtcNow()),
            Action = entry.Action,
            UserId = entry.UserId,
            Username = entry.Username,
            ClientIp = entry.ClientIp,
            Detail = entry.Detail,
            Hash = [],
        };
        if (db.Database.IsNpgsql())
        {
            // Every node appends under one advisory lock, held until commit, so the chain has one order.
            // Lock, read of the previous hash and insert go in one round trip, keeping the time anyone
            // waits for the lock short; PostgreSQL's sha256() computes the same hash as ComputeHash.
            // Pending changes first, in one batch; the lock is taken as late as possible.
            await db.SaveChangesAsync(ct);
            var fields = FieldsDigest(row);
            await db.Database.ExecuteSqlAsync($"""
                SELECT pg_advisory_xact_lock({ChainLock});
                INSERT INTO audit_events ("At", "Action", "UserId", "Username", "ClientIp", "Detail", "Hash")
                SELECT {row.At}, {row.Action}, {row.UserId}, {row.Username}, {row.ClientIp}, {row.Detail},
                       sha256(coalesce((SELECT "Hash" FROM audit_events ORDER BY "Id" DESC LIMIT 1), {Genesis}) || {fields});
                """, ct);
            return;
        }
        // SQLite's write transactions already run one at a time, so reading the tail is safe here.
        var previous = await db.AuditEvents.OrderByDescending(e => e.Id).Select(e => e.Hash).FirstOrDefaultAsync(ct);
        row.Hash = ComputeHash(previous, row);
        db.AuditEvents.Add(row);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// Appends many events in the caller's transaction with one read of the chain's tail and one batched
    /// insert, for bulk records such as the words shown to every connected user at a rotation. On
    /// PostgreSQL the chain lock is taken first, so no other node appends in between.
    /// </summary>
    public async Task RecordManyAsync(CountersignDb db, IReadOnlyList<AuditEntry> entries, CancellationToken ct = default)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("An audit event must be written in the transaction of the change it records.");
        }
        if (entries.Count == 0)
        {
            return;
        }
        await db.SaveChangesAsync(ct);
        if (db.Database.IsNpgsql())
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({ChainLock})", ct);
        }
        var previous = await db.AuditEvents.OrderByDescending(e => e.Id).Select(e => e.Hash).FirstOrDefaultAsync(ct);
        var at = TruncateToMicroseconds(time.GetUtcNow());
        foreach (var entry in entries)
        {
            var row = new AuditEvent
            {
                At = at,
                Action = entry.Action,
                UserId = entry.UserId,
                Username = entry.Username,
                ClientIp = entry.ClientIp,
                Detail = entry.Detail,
                Hash = [],
            };
            row.Hash = previous = ComputeHash(previous, row);
            db.AuditEvents.Add(row);
        }
        // Ids must follow the order the chain was computed in. EF orders the inserts of one table by their
        // temporary keys, which grow in the order the rows were added; a test over 1,500 rows holds it to that.
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Records an event that changes nothing else (a failed login, say) in its own transaction.</summary>
    public async Task RecordAloneAsync(CountersignDb db, AuditEntry entry, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await RecordAsync(db, entry, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>Walks the chain in order; returns the id of the first row whose hash does not match, or null.</summary>
    public static async Task<(long Checked, long? FirstBroken)> VerifyAsync(CountersignDb db, CancellationToken ct = default)
    {
        byte[]? previous = null;
        long count = 0;
        await foreach (var row in db.AuditEvents.AsNoTracking().OrderBy(e => e.Id).AsAsyncEnumerable().WithCancellation(ct))
        {
            if (!CryptographicOperations.FixedTimeEquals(ComputeHash(previous, row), row.Hash))
            {
                return (count, row.Id);
            }
            previous = row.Hash;
            count++;
        }
        return (count, null);
    }

    private static readonly byte[] Genesis = new byte[32];

    /// <summary>SHA-256 of the previous row's hash followed by the digest of this row's fields.</summary>
    internal static byte[] ComputeHash(byte[]? previous, AuditEvent row) =>
        SHA256.HashData([.. previous ?? Genesis, .. FieldsDigest(row)]);

    /// <summary>SHA-256 over every field, each length-prefixed so that no two rows can encode alike.</summary>
    private static byte[] FieldsDigest(AuditEvent row)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, (row.At.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        hash.AppendData(number);
        foreach (var field in new[] { row.Action, row.UserId?.ToString("N"), row.Username, row.ClientIp, row.Detail })
        {
            var bytes = field is null ? [] : Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt64BigEndian(number, field is null ? -1 : bytes.Length);
            hash.AppendData(number);
            hash.AppendData(bytes);
        }
        return hash.GetHashAndReset();
    }

    // Both databases keep microseconds; hashing finer ticks would not survive the round trip.
    private static DateTimeOffset TruncateToMicroseconds(DateTimeOffset t) => new(t.Ticks - t.Ticks % 10, TimeSpan.Zero);
}
