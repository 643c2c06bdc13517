using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Countersign.Audit;

/// <summary>
/// One security event. Rows are only ever appended; each row's <see cref="Hash"/> covers the previous
/// row's hash in its <see cref="Chain"/> and this row's fields, so an edited, removed or reordered row breaks
/// the chain (ASVS 16.4.2: logs protected from modification). <see cref="AuditCheckpoint"/>s bind every
/// chain's head, so a chain cut short before the last checkpoint is found too.
/// </summary>
public sealed class AuditEvent
{
    public long Id { get; set; }

    /// <summary>Which of the parallel hash chains the row belongs to (0 on SQLite).</summary>
    public int Chain { get; set; }

    /// <summary>1, 2, 3 … within its chain: the chain's order.</summary>
    public long Seq { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Action { get; set; }
    public Guid? UserId { get; set; }
    public string? Username { get; set; }
    public string? ClientIp { get; set; }
    /// <summary>Small JSON object with event-specific details; never a secret.</summary>
    public string? Detail { get; set; }
    public required byte[] Hash { get; set; }
}

/// <summary>The actions written to the audit chain.</summary>
public static class AuditActions
{
    public const string Register = "register";
    public const string UserCreated = "user_created";
    public const string UserImported = "user_imported";
    public const string LoginSucceeded = "login_succeeded";
    public const string LoginFailed = "login_failed";
    public const string PasswordRehashed = "password_rehashed";
    public const string Refresh = "refresh";
    public const string RefreshReuseDetected = "refresh_reuse_detected";
    public const string Logout = "logout";
    public const string SessionRevoked = "session_revoked";
    public const string RoleAdded = "role_added";
    public const string RoleRemoved = "role_removed";
    public const string PasswordChanged = "password_changed";
    /// <summary>A sign-in whose factors passed, stopped until the user chooses a password of their own.</summary>
    public const string PasswordChangeRequired = "password_change_required";
    /// <summary>A forgotten password replaced with a recovery code and an authenticator code.</summary>
    public const string PasswordReset = "password_reset";
    public const string UserDisabled = "user_disabled";
    public const string UserEnabled = "user_enabled";
    public const string KeyRotated = "key_rotated";
    public const string SecretsReencrypted = "secrets_reencrypted";
    public const string LockedOut = "locked_out";
    public const string LockoutCleared = "lockout_cleared";
    public const string TotpEnabled = "totp_enabled";
    public const string TotpDisabled = "totp_disabled";
    public const string RecoveryCodesRegenerated = "recovery_codes_regenerated";
    public const string PasskeyAdded = "passkey_added";
    public const string PasskeyRenamed = "passkey_renamed";
    public const string PasskeyRemoved = "passkey_removed";
    public const string PairCreated = "pair_created";
    public const string PairRemoved = "pair_removed";
    public const string CallWordsShown = "call_words_shown";
    public const string CallWordMatched = "call_word_matched";
    public const string PossibleImpersonation = "possible_impersonation";
    public const string CallStarted = "call_started";
    public const string CallEnded = "call_ended";
    public const string CallSessionTimedOut = "call_session_timed_out";
    public const string LanguageChanged = "language_changed";
    public const string ServiceAdded = "service_added";
    public const string ServiceRemoved = "service_removed";
    public const string ServiceTokenRotated = "service_token_rotated";
    public const string GrantAdded = "grant_added";
    public const string GrantRemoved = "grant_removed";
    public const string DeviceAdded = "device_added";
    public const string DeviceRevoked = "device_revoked";
    public const string QuadVerified = "quad_verified";
    public const string QuadRegistered = "quad_registered";
    public const string QuadRegistrationRefused = "quad_registration_refused";
    public const string QuadTotpReplaced = "quad_totp_replaced";
    public const string QuadPasswordRecovered = "quad_password_recovered";
    public const string QuadFaceReplaced = "quad_face_replaced";
    public const string QuadDeviceReplaced = "quad_device_replaced";
    public const string OidcClientAdded = "oidc_client_added";
    public const string OidcClientRemoved = "oidc_client_removed";
    public const string OidcClientSecretRotated = "oidc_client_secret_rotated";
    public const string OidcConsentGranted = "oidc_consent_granted";
    public const string OidcConsentRevoked = "oidc_consent_revoked";
    public const string OidcSignIn = "oidc_sign_in";
    public const string OidcLogout = "oidc_logout";
    public const string QuadClockSkew = "quad_clock_skew";
    public const string AddressReset = "address_reset";
    public const string TotpDriftChecked = "totp_drift_checked";
    public const string Reauthenticated = "reauthenticated";
}

/// <summary>
/// A signed statement of every chain's head at one moment, itself hash-linked to the previous checkpoint:
/// <see cref="Hash"/> = SHA-256(previous checkpoint's hash ‖ SHA-256(time ‖ heads)), <see cref="Mac"/> =
/// HMAC-SHA256 of it under a key derived from the master key, which the database does not hold. Someone who
/// can write to the database but has no key can recompute an altered chain's hashes, but not a checkpoint.
/// </summary>
public sealed class AuditCheckpoint
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }

    /// <summary>JSON <c>[[chain, seq, "sha256 hex"], …]</c>, ordered by chain.</summary>
    public required string Heads { get; set; }
    public required byte[] Hash { get; set; }
    public required byte[] Mac { get; set; }
}

internal sealed class AuditCheckpointConfiguration : IEntityTypeConfiguration<AuditCheckpoint>
{
    public void Configure(EntityTypeBuilder<AuditCheckpoint> e) => e.ToTable("audit_checkpoints");
}

internal sealed class AuditEventConfiguration : IEntityTypeConfiguration<AuditEvent>
{
    public void Configure(EntityTypeBuilder<AuditEvent> e)
    {
        e.ToTable("audit_events");
        e.Property(x => x.Action).HasMaxLength(64);
        e.Property(x => x.Username).HasMaxLength(256);
        e.Property(x => x.ClientIp).HasMaxLength(64);
        e.Property(x => x.Detail).HasMaxLength(4096);
        e.HasIndex(x => x.At);
        // The chain's order, and a second guard besides the chain lock: two appends can never take one place.
        e.HasIndex(x => new { x.Chain, x.Seq }).IsUnique();
        e.HasIndex(x => new { x.UserId, x.At });
        e.HasIndex(x => new { x.Action, x.At });
    }
}
