using Countersign.Operations;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Audit;

/// <summary>
/// Security events for the server log, with event ids and no secrets, so a SIEM or <c>journalctl</c>
/// sees them without reading the database (ASVS 16.3). Audit rows of the kinds below are logged once their
/// transaction commits (never for a change that rolled back); refusals that leave no audit row (a proof of
/// work asked for or rejected) are logged where they happen.
/// </summary>
public sealed partial class SecurityEvents(ILogger<SecurityEvents> logger, CountersignMetrics metrics)
{
    /// <summary>Event ids, stable for alert rules.</summary>
    public static class Ids
    {
        public const int RefreshReuse = 4001;
        public const int LockedOut = 4002;
        public const int PossibleImpersonation = 4003;
        public const int CaptchaRequired = 4004;
        public const int CaptchaRejected = 4005;
        public const int AdminAction = 4100;
    }

    private static readonly HashSet<string> AdminActions =
    [
        AuditActions.UserCreated, AuditActions.UserImported, AuditActions.RoleAdded, AuditActions.RoleRemoved,
        AuditActions.UserDisabled, AuditActions.UserEnabled, AuditActions.PasswordChanged, AuditActions.LockoutCleared,
        AuditActions.KeyRotated, AuditActions.SecretsReencrypted, AuditActions.PairCreated, AuditActions.PairRemoved,
        AuditActions.ServiceAdded, AuditActions.ServiceRemoved, AuditActions.ServiceTokenRotated, AuditActions.GrantAdded, AuditActions.GrantRemoved,
    ];

    /// <summary>
    /// Called by the save that writes <paramref name="rows"/>: they are logged once its transaction commits,
    /// never if it rolls back (<see cref="AfterCommit"/>).
    /// </summary>
    internal Task PendingAsync(DbContext db, List<AuditEvent> rows) => AfterCommit.RunAsync(db, () =>
    {
        foreach (var row in rows)
        {
            Log(row);
        }
        return Task.CompletedTask;
    });

    private void Log(AuditEvent row)
    {
        metrics.AuditEvent(row.Action);
        switch (row.Action)
        {
            case AuditActions.RefreshReuseDetected:
                RefreshReuse(row.Username, row.ClientIp, row.Detail);
                break;
            case AuditActions.LockedOut:
                LockedOut(row.Username, row.ClientIp);
                break;
            case AuditActions.PossibleImpersonation:
                PossibleImpersonation(row.Username, row.ClientIp, row.Detail);
                break;
            case var action when AdminActions.Contains(action):
                AdminAction(action, row.Username, row.Detail);
                break;
        }
    }

    [LoggerMessage(EventId = Ids.RefreshReuse, EventName = "RefreshReuse", Level = LogLevel.Warning,
        Message = "Refresh token reuse: the session family of {Username} was revoked (client {ClientIp}, {Detail})")]
    private partial void RefreshReuse(string? username, string? clientIp, string? detail);

    [LoggerMessage(EventId = Ids.LockedOut, EventName = "LockedOut", Level = LogLevel.Warning,
        Message = "Username {Username} locked after repeated failures (last from {ClientIp})")]
    private partial void LockedOut(string? username, string? clientIp);

    [LoggerMessage(EventId = Ids.PossibleImpersonation, EventName = "PossibleImpersonation", Level = LogLevel.Warning,
        Message = "Possible impersonation on a call: {Username} reported a word mismatch (client {ClientIp}, {Detail})")]
    private partial void PossibleImpersonation(string? username, string? clientIp, string? detail);

    [LoggerMessage(EventId = Ids.CaptchaRequired, EventName = "CaptchaRequired", Level = LogLevel.Information,
        Message = "Proof of work required from {ClientIp} after repeated failures ({Channel})")]
    public partial void CaptchaRequired(string channel, string? clientIp);

    [LoggerMessage(EventId = Ids.CaptchaRejected, EventName = "CaptchaRejected", Level = LogLevel.Warning,
        Message = "A proof-of-work solution from {ClientIp} was refused: forged, expired or replayed ({Channel})")]
    public partial void CaptchaRejected(string channel, string? clientIp);

    [LoggerMessage(EventId = Ids.AdminAction, EventName = "AdminAction", Level = LogLevel.Information,
        Message = "Admin action {Action} on {Username} ({Detail})")]
    private partial void AdminAction(string action, string? username, string? detail);
}
