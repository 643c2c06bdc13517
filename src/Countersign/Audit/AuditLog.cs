using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Audit;

public sealed record AuditEntry(string Action, Guid? UserId = null, string? Username = null, string? ClientIp = null, string? Detail = null);

/// <summary>
/// Appends events to the hash chain as part of the caller's unit of work: <see cref="Add"/> only stages the
/// row; the caller's one <c>SaveChangesAsync</c> writes it with the change it records, and its commit makes
/// both durable together, or neither (fail closed). The chain is sealed at that save
/// (<see cref="AuditChain"/>), so the audit writer never saves for anyone.
/// </summary>
public sealed class AuditLog(TimeProvider time)
{
    /// <summary>Stages an event in <paramref name="db"/>'s unit of work; the caller's save, inside its transaction, writes it.</summary>
    public void Add(CountersignDb db, AuditEntry entry) => db.AuditEvents.Add(Row(entry, time.GetUtcNow()));

    /// <summary>Stages many events at once (the words shown to every connected user at a rotation), in order.</summary>
    public void AddMany(CountersignDb db, IReadOnlyList<AuditEntry> entries)
    {
        var at = time.GetUtcNow();
        foreach (var entry in entries)
        {
            db.AuditEvents.Add(Row(entry, at));
        }
    }

    /// <summary>Records an event that changes nothing else (a failed login, say): it owns its transaction and save.</summary>
    public async Task RecordAloneAsync(CountersignDb db, AuditEntry entry, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        Add(db, entry);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    private static AuditEvent Row(AuditEntry entry, DateTimeOffset at) => new()
    {
        At = AuditChain.TruncateToMicroseconds(at),
        Action = entry.Action,
        UserId = entry.UserId,
        Username = entry.Username,
        ClientIp = entry.ClientIp,
        Detail = entry.Detail,
        Hash = [],
    };
}
