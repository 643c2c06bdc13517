using Countersign.Audit;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Defences;

/// <summary>Unlocking, from the API or the CLI: the ephemeral state cleared and the act audited.</summary>
public sealed class LockoutAdmin(Lockout lockout, ILookupNormalizer normalizer, CountersignDb db, AuditLog audit)
{
    public async Task UnlockAsync(string username, string? actor, string? clientIp, CancellationToken ct = default)
    {
        await lockout.ClearAsync(normalizer.NormalizeName(username)!);
        // The name as the administrator gave it: lockout counts names, whether or not an account has it.
        await audit.RecordAloneAsync(db, new(AuditActions.LockoutCleared, null, username.Trim(), clientIp,
            AuditDetail.Of(new { actor })), ct);
    }
}
