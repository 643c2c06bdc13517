using Countersign.Audit;
using Countersign.Accounts;
using Countersign.Sessions;
using Countersign.Storage;
using Countersign.Totp;

namespace Countersign.Admin;

/// <summary>
/// An administrator's changes to another account's sessions and the clock-drift check, each with its audit row in the
/// same transaction and the administrator's name in it. Account, role and second-factor changes are
/// <see cref="AccountAdmin"/>'s and <see cref="SecondFactorAdmin"/>'s, called directly by the API, CLI and console.
/// </summary>
public sealed class AdminUsers(CountersignDb db, SessionService sessions, TotpService totp, AuditLog audit)
{
    /// <summary>The most steps either side the drift check searches: ±10 steps is ±5 minutes.</summary>
    public const int MaxDriftWindow = 10;

    /// <summary>False when the session is not a live one of this user.</summary>
    public async Task<bool> RevokeSessionAsync(User user, Guid sessionId, string? actor, string? clientIp, CancellationToken ct = default)
    {
        if (!(await sessions.ListActiveAsync(user.Id, ct)).Any(f => f.Id == sessionId))
        {
            return false;
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await sessions.RevokeFamilyAsync(sessionId, "revoked_by_admin", ct);
        audit.Add(db, new(AuditActions.SessionRevoked, user.Id, user.UserName, clientIp, AuditDetail.Of(new { actor, session_id = sessionId })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>Ends every session of the user (ASVS 7.4.2's "terminate all active sessions" for an administrator).</summary>
    public async Task<int> RevokeAllSessionsAsync(User user, string? actor, string? clientIp, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var ended = await sessions.RevokeAllAsync(user.Id, "revoked_by_admin", ct);
        audit.Add(db, new(AuditActions.SessionRevoked, user.Id, user.UserName, clientIp, AuditDetail.Of(new { actor, all = true, ended })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return ended;
    }

    /// <summary>
    /// The seed's <c>totp_drift_test</c>: which step within ±<paramref name="window"/> the code the user reads out matches,
    /// without spending it. Audited whatever the answer (never the code), so a string of checks on one account shows up.
    /// </summary>
    public async Task<(bool Enrolled, int? Offset)> DriftAsync(User user, string code, int window, string? actor, string? clientIp,
        CancellationToken ct = default)
    {
        window = Math.Clamp(window, 0, MaxDriftWindow);
        var (enrolled, offset) = await totp.DriftAsync(user.Id, code, window, ct);
        await audit.RecordAloneAsync(db, new(AuditActions.TotpDriftChecked, user.Id, user.UserName, clientIp,
            AuditDetail.Of(new { actor, window, enrolled, matched = offset is not null, offset_steps = offset })), ct);
        return (enrolled, offset);
    }
}
