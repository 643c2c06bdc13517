using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Totp;

/// <summary>
/// Changes to a user's second factors, each audited in its transaction, each ending the user's other
/// sessions (ASVS 7.4.3: after a factor changes, sessions elsewhere may belong to whoever had the old one).
/// </summary>
public sealed class SecondFactorAdmin(CountersignDb db, TotpService totp, RecoveryCodes recoveryCodes, SessionService sessions, AuditLog audit)
{
    public async Task<IReadOnlyList<string>?> ConfirmAsync(Guid userId, string? username, string code, Guid? keepSession, ClientInfo client,
        CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (!await totp.ConfirmAsync(userId, code, ct))
        {
            return null;
        }
        var codes = await recoveryCodes.RegenerateAsync(userId, ct);
        await sessions.RevokeOthersAsync(userId, keepSession, "factor_changed", ct);
        audit.Add(db, new(AuditActions.TotpEnabled, userId, username, client.Ip, null));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return codes;
    }

    /// <summary>Turns TOTP and the recovery codes off; with <paramref name="passkeysToo"/> (an admin's reset) the passkeys go as well.</summary>
    public async Task RemoveAsync(User user, string how, Guid? keepSession, ClientInfo client, bool passkeysToo = false, string? actor = null,
        CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var entry = await StageRemovalAsync(user, how, keepSession, client, passkeysToo, ct);
        // An administrator's reset names the administrator (AuditDetail carries no secret).
        audit.Add(db, actor is null ? entry : entry with { Detail = AuditDetail.Of(new { how, passkeys_removed = passkeysToo, actor }) });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// The removal as part of the caller's transaction (the MFA reset's sign-in): the factors go, the other
    /// sessions end, and the audit event is returned for the caller to save with it.
    /// </summary>
    public async Task<AuditEntry> StageRemovalAsync(User user, string how, Guid? keepSession, ClientInfo client, bool passkeysToo,
        CancellationToken ct)
    {
        await totp.RemoveAsync(user.Id, ct);
        await recoveryCodes.RemoveAllAsync(user.Id, ct);
        if (passkeysToo)
        {
            await db.UserPasskeys.Where(p => p.UserId == user.Id).ExecuteDeleteAsync(ct);
        }
        await sessions.RevokeOthersAsync(user.Id, keepSession, "factor_changed", ct);
        return new(AuditActions.TotpDisabled, user.Id, user.UserName, client.Ip, AuditDetail.Of(new { how, passkeys_removed = passkeysToo }));
    }

    public async Task<IReadOnlyList<string>?> RegenerateRecoveryCodesAsync(Guid userId, string? username, ClientInfo client, CancellationToken ct = default)
    {
        if (!await totp.IsEnabledAsync(userId, ct))
        {
            return null;
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var codes = await recoveryCodes.RegenerateAsync(userId, ct);
        audit.Add(db, new(AuditActions.RecoveryCodesRegenerated, userId, username, client.Ip, null));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return codes;
    }
}

