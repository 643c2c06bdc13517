using Countersign.Audit;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages;

/// <summary>The account console's "recent activity" in words: an audit action and its channel, as a user reads them.</summary>
public static class ActivityText
{
    public static string Action(IStringLocalizer<AccountText> t, string action) => action switch
    {
        AuditActions.LoginSucceeded => t["Signed in"],
        AuditActions.LoginFailed => t["Failed sign-in"],
        AuditActions.LockedOut => t["Locked after failed sign-ins"],
        AuditActions.LockoutCleared => t["Lock lifted by an administrator"],
        AuditActions.PasswordChanged => t["Password changed"],
        AuditActions.PasswordChangeRequired => t["Asked to choose a new password"],
        AuditActions.PasswordReset => t["Forgotten password reset"],
        AuditActions.PasswordRehashed => t["Password storage upgraded"],
        AuditActions.TotpEnabled => t["Authenticator app turned on"],
        AuditActions.TotpDisabled => t["Authenticator app turned off"],
        AuditActions.RecoveryCodesRegenerated => t["New recovery codes"],
        AuditActions.PasskeyAdded => t["Passkey added"],
        AuditActions.PasskeyRemoved => t["Passkey removed"],
        AuditActions.SessionRevoked => t["Session signed out"],
        AuditActions.Logout => t["Signed out"],
        AuditActions.RefreshReuseDetected => t["A stolen sign-in was stopped"],
        AuditActions.DeviceAdded => t["Device registered"],
        AuditActions.DeviceRevoked => t["Device revoked"],
        AuditActions.UserDisabled => t["Account disabled"],
        AuditActions.UserEnabled => t["Account enabled"],
        AuditActions.RoleAdded => t["Role added"],
        AuditActions.RoleRemoved => t["Role removed"],
        AuditActions.OidcConsentGranted => t["Application allowed"],
        AuditActions.OidcConsentRevoked => t["Application removed"],
        AuditActions.Register or AuditActions.UserCreated => t["Account created"],
        _ => action,
    };

    public static string Method(IStringLocalizer<AccountText> t, string? channel) => channel switch
    {
        null => "—",
        // Keys differ from "Browser" and "Forgotten password" by more than case: resource names are case-insensitive,
        // and a duplicate is dropped at build, which left these two English on French pages.
        "browser" => t["method: browser"],
        "api" => t["app (API)"],
        "password_change" => t["password change"],
        "password_reset" => t["method: forgotten password"],
        "mfa_reset" => t["second-factor reset"],
        "device" => t["device registration"],
        "quad" or "quad_factor" => t["quad-factor client"],
        _ => channel,
    };
}
