using System.Text.Json;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.SignIn;
using Countersign.Totp;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace Countersign.Pages;

/// <summary>
/// The signed-in user's account console: profile, language, password, second factors, passkeys, devices, connected
/// applications, sessions and recent activity. Every form that changes something answers with a redirect
/// (post/redirect/get), so a reload never repeats it; what must be shown once (new recovery codes, a message) travels
/// in TempData, a Data-Protection-encrypted cookie. Destructive actions take a confirmation step that is a page of its
/// own (<c>?confirm=…</c>), so it works without JavaScript.
/// </summary>
[Authorize(Policy = Policies.BrowserSession)]
public sealed class AccountModel(
    UserManager<Accounts.User> users, SessionService sessions, TotpService totp, RecoveryCodes recoveryCodes, SecondFactorAdmin factors,
    Storage.CountersignDb db, Audit.AuditLog audit, Accounts.AccountAdmin accounts, Defences.RateLimiter limiter,
    ForwardAuth.DeviceService devices, Oidc.OidcClients oidcClients, PasswordChange passwords, IStringLocalizer<AccountText> text,
    IOptionsMonitor<Accounts.PasswordPolicyOptions> policy) : PageModel
{
    public const string SuccessKey = "AccountSuccess";
    private const string ErrorKey = "AccountError";
    private const string CodesKey = "AccountNewCodes";

    public Accounts.User Account { get; private set; } = null!;
    public IList<string> Roles { get; private set; } = [];
    public List<SessionFamily> Sessions { get; private set; } = [];
    public Guid? CurrentSession { get; private set; }
    public bool TotpEnabled { get; private set; }
    public int RecoveryCodesRemaining { get; private set; }
    /// <summary>An enrolment waiting for its confirming code.</summary>
    public TotpEnrolment? Enrolment { get; private set; }
    /// <summary>Recovery codes shown until the user says they saved them (kept in TempData across reloads).</summary>
    public IReadOnlyList<string>? NewRecoveryCodes { get; private set; }
    /// <summary>An error from the last action (shown in the alert style).</summary>
    public string? Message { get; private set; }
    /// <summary>What the last action did (shown in the success style).</summary>
    public string? Success { get; private set; }

    /// <summary>The destructive action waiting for its confirmation: remove-totp, new-codes, remove-passkey, sign-out-others.</summary>
    [BindProperty(SupportsGet = true, Name = "confirm")]
    public string? Confirm { get; set; }

    /// <summary>Set by the confirmation step's own form; a destructive handler without it goes to that step instead.</summary>
    [BindProperty]
    public bool Confirmed { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true, Name = "CredentialId")]
    public string? CredentialId { get; set; }

    [BindProperty]
    public string? PasskeyName { get; set; }

    [BindProperty]
    public string? CurrentPassword { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty]
    public string? ConfirmPassword { get; set; }

    [BindProperty]
    public Guid? SessionId { get; set; }

    public sealed record PasskeyView(string Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

    public List<PasskeyView> Passkeys { get; private set; } = [];

    /// <summary>Browsers registered for passwordless sign-in to the protected apps (forward auth).</summary>
    public List<ForwardAuth.DeviceView> Devices { get; private set; } = [];

    [BindProperty]
    public Guid? DeviceId { get; set; }

    /// <summary>OpenID Connect applications the user consented to (or signed in to, for first-party ones).</summary>
    public List<Oidc.ConnectedApplication> Applications { get; private set; } = [];

    [BindProperty]
    public string? AuthorizationId { get; set; }

    /// <summary>One line of "recent activity": the account's own sign-ins and security events, from the audit.</summary>
    public sealed record ActivityView(DateTimeOffset At, string Action, string? ClientIp, string? Method, bool Succeeded);

    public List<ActivityView> Activity { get; private set; } = [];

    /// <summary>
    /// What "recent activity" shows: sign-ins (failed ones too: a stranger's attempt is what the user should notice) and
    /// changes to the account's security. Call words and token refreshes are left out: they happen every few seconds.
    /// </summary>
    private static readonly string[] ActivityActions =
    [
        AuditActions.LoginSucceeded, AuditActions.LoginFailed, AuditActions.LockedOut, AuditActions.LockoutCleared,
        AuditActions.PasswordChanged, AuditActions.PasswordChangeRequired, AuditActions.PasswordReset, AuditActions.PasswordRehashed,
        AuditActions.TotpEnabled, AuditActions.TotpDisabled, AuditActions.RecoveryCodesRegenerated,
        AuditActions.PasskeyAdded, AuditActions.PasskeyRemoved, AuditActions.SessionRevoked, AuditActions.Logout,
        AuditActions.RefreshReuseDetected, AuditActions.DeviceAdded, AuditActions.DeviceRevoked, AuditActions.UserDisabled,
        AuditActions.UserEnabled, AuditActions.RoleAdded, AuditActions.RoleRemoved, AuditActions.OidcConsentGranted,
        AuditActions.OidcConsentRevoked, AuditActions.Register, AuditActions.UserCreated,
    ];

    private const int ActivityShown = 20;

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        Success = TempData[SuccessKey] as string;
        Message = TempData[ErrorKey] as string;
        // Shown on every reload until "I have saved them": a reload must not lose codes that exist nowhere else.
        if (TempData.Peek(CodesKey) is string codes)
        {
            NewRecoveryCodes = JsonSerializer.Deserialize<string[]>(codes);
        }
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeApplicationAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (AuthorizationId is not { } id || !await oidcClients.RevokeConsentAsync(Account.Id, id, ClientInfo.IpOf(HttpContext), ct))
        {
            return NotFound();
        }
        return Done(text["The application no longer has access to your account."]);
    }

    public async Task<IActionResult> OnPostRevokeDeviceAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (DeviceId is not { } id || !await devices.RevokeAsync(id, Account.Id, Account.UserName, ClientInfo.IpOf(HttpContext), ct))
        {
            return NotFound();
        }
        return Done(text["The device is revoked."]);
    }

    /// <summary>Ends one other session of the user's (ASVS 7.5.2: the user sees and ends their sessions).</summary>
    public async Task<IActionResult> OnPostRevokeSessionAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (SessionId is not { } id || Sessions.All(s => s.Id != id))
        {
            return NotFound();
        }
        if (id == CurrentSession)
        {
            // Ending this one is signing out, which the header's button does properly.
            return Failed(text["That is the session you are using: sign out instead."]);
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await sessions.RevokeFamilyAsync(id, "revoked_by_user", ct);
        audit.Add(db, new(AuditActions.SessionRevoked, Account.Id, Account.UserName, ClientInfo.IpOf(HttpContext),
            AuditDetail.Of(new { session_id = id, channel = "browser" })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return Done(text["That session is signed out."]);
    }

    /// <summary>"Sign out everywhere else": every session but this one, after a confirmation step.</summary>
    public async Task<IActionResult> OnPostSignOutOthersAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (!Confirmed)
        {
            return ConfirmFirst("sign-out-others");
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var ended = await sessions.RevokeOthersAsync(Account.Id, CurrentSession, "revoked_by_user", ct);
        audit.Add(db, new(AuditActions.SessionRevoked, Account.Id, Account.UserName, ClientInfo.IpOf(HttpContext),
            AuditDetail.Of(new { all_others = true, ended, channel = "browser" })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return Done(text["You are signed out everywhere else ({0} sessions).", ended]);
    }

    /// <summary>
    /// The user's own password change: the current password, or a fresh code from the authenticator or a recovery code,
    /// first (ASVS 6.2.3); the other sessions and devices end, this one stays (ASVS 7.4.3).
    /// </summary>
    public async Task<IActionResult> OnPostChangePasswordAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (string.IsNullOrEmpty(NewPassword) || NewPassword != ConfirmPassword)
        {
            return Failed(text["The two new passwords are not the same."]);
        }
        var code = (Code ?? "").Replace(" ", "", StringComparison.Ordinal);
        var isTotp = code.Length == 6 && code.All(char.IsAsciiDigit);
        var result = await passwords.ChangeAsync(new PasswordChangeRequest
        {
            UserId = Account.Id,
            KeepSession = CurrentSession,
            CurrentPassword = string.IsNullOrEmpty(CurrentPassword) ? null : CurrentPassword,
            TotpCode = isTotp ? code : null,
            RecoveryCode = !isTotp && code.Length > 0 ? code : null,
            NewPassword = NewPassword,
            Client = ClientInfo.From(HttpContext),
            Channel = SessionKinds.Browser,
        }, ct);
        if (!result.Policy.Succeeded)
        {
            return Failed(string.Join(" ", PasswordErrorText.Describe(result.Policy.Errors, text, policy.CurrentValue))
);
        }
        if (result.NoProof)
        {
            return Failed(text["Give your current password, or a code from your authenticator app or a recovery code."]);
        }
        if (!result.Changed)
        {
            return Failed(result.Proof!.Status switch
            {
                SignInStatus.AccountLocked or SignInStatus.RateLimited => text["Too many attempts. Try again in a few minutes."],
                SignInStatus.CaptchaRequired => text["Too many failed attempts from here. Sign in again on the sign-in page first."],
                _ => text["The current password or the code is not correct."],
            });
        }
        return Done(text["Your password is changed. Your other sessions and registered devices were signed out."]);
    }

    /// <summary>Renaming changes nothing about security: no confirmation step.</summary>
    public async Task<IActionResult> OnPostRenamePasskeyAsync(CancellationToken ct) =>
        await ChangePasskeyAsync(Audit.AuditActions.PasskeyRenamed, confirm: false, async (user, passkey) =>
        {
            passkey.Name = (PasskeyName ?? "").Trim() is { Length: > 0 } name ? name[..Math.Min(name.Length, 64)] : passkey.Name;
            return await users.AddOrUpdatePasskeyAsync(user, passkey);
        }, text["The passkey is renamed."], ct);

    /// <summary>Removing a passkey is a factor change: the user's other sessions end (ASVS 7.4.3).</summary>
    public async Task<IActionResult> OnPostRemovePasskeyAsync(CancellationToken ct) =>
        await ChangePasskeyAsync(Audit.AuditActions.PasskeyRemoved, confirm: true, async (user, passkey) =>
        {
            var result = await users.RemovePasskeyAsync(user, passkey.CredentialId);
            await sessions.RevokeOthersAsync(user.Id, CurrentSession, "factor_changed", ct);
            return result;
        }, text["The passkey is removed; your other sessions were signed out."], ct);

    private async Task<IActionResult> ChangePasskeyAsync(string action, bool confirm, Func<Accounts.User, UserPasskeyInfo, Task<IdentityResult>> change,
        string done, CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (CredentialId is null || !TryDecode(CredentialId, out var id) || await users.GetPasskeyAsync(Account, id) is not { } passkey)
        {
            return NotFound();
        }
        if (confirm && !Confirmed)
        {
            return RedirectToPage(null, null, new { confirm = "remove-passkey", CredentialId }, "passkeys");
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if ((await change(Account, passkey)).Succeeded)
        {
            audit.Add(db, new(action, Account.Id, Account.UserName, ClientInfo.IpOf(HttpContext),
                AuditDetail.Of(new { name = passkey.Name })));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        return Done(done);
    }

    /// <summary>The passkey a confirmation step is about, for its question.</summary>
    public PasskeyView? ConfirmingPasskey => Confirm == "remove-passkey" ? Passkeys.FirstOrDefault(p => p.Id == CredentialId) : null;

    private static bool TryDecode(string base64Url, out byte[] bytes)
    {
        try
        {
            bytes = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(base64Url);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    [BindProperty]
    public string? Language { get; set; }

    public async Task<IActionResult> OnPostLanguageAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (!await accounts.SetLanguageAsync(Account, Language ?? "", ct))
        {
            return Failed(text["Choose one of the languages offered."]);
        }
        // No message: it would be in the old language. The page that follows is read in the new one.
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostStartTotpAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        // The pending enrolment is kept server-side (TotpService.PendingAsync), so the redirected page shows it again.
        await totp.StartAsync(Account, ct);
        return RedirectToPage(null, null, null, "security");
    }

    public async Task<IActionResult> OnPostConfirmTotpAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        var codes = await factors.ConfirmAsync(Account.Id, Account.UserName, Code ?? "", CurrentSession, ClientInfo.From(HttpContext), ct);
        if (codes is null)
        {
            return Failed(text["That code did not match. Check the time on your phone and try the next code."]);
        }
        return ShowCodes(codes, text["The authenticator app is on."]);
    }

    public async Task<IActionResult> OnPostRegenerateCodesAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (!Confirmed)
        {
            return ConfirmFirst("new-codes");
        }
        var codes = await factors.RegenerateRecoveryCodesAsync(Account.Id, Account.UserName, ClientInfo.From(HttpContext), ct);
        if (codes is null)
        {
            return Failed(text["Recovery codes come with an authenticator app: set one up first."]);
        }
        return ShowCodes(codes, text["New recovery codes are made; the old ones no longer work."]);
    }

    /// <summary>"I have saved them": the codes leave TempData and the page.</summary>
    public IActionResult OnPostSavedCodes()
    {
        TempData.Remove(CodesKey);
        return RedirectToPage(null, null, null, "security");
    }

    public async Task<IActionResult> OnPostDisableTotpAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (!Confirmed)
        {
            return ConfirmFirst("remove-totp");
        }
        // The password check below is a guess like any other: the same per-address limit as a second-factor
        // step, as the API's DELETE /api/me/totp has (ASVS 2.2.1).
        if (await limiter.HitAsync(Defences.RateLimitedRoute.SecondFactor, ClientInfo.IpOf(HttpContext)) is { } wait)
        {
            return Failed(text["Too many attempts. Try again in {0} seconds.", (int)Math.Ceiling(wait.TotalSeconds)]);
        }
        // ASVS 7.5.1: removing a factor needs the password again.
        if (string.IsNullOrEmpty(Password) || !await users.CheckPasswordAsync(Account, Password))
        {
            TempData[ErrorKey] = text["The password is incorrect."].Value;
            return RedirectToPage(null, null, new { confirm = "remove-totp" }, "security");
        }
        await factors.RemoveAsync(Account, "self", CurrentSession, ClientInfo.From(HttpContext), ct: ct);
        TempData.Remove(CodesKey);
        return Done(text["The authenticator app is removed; your other sessions were signed out."]);
    }

    private RedirectToPageResult ShowCodes(IReadOnlyList<string> codes, string message)
    {
        TempData[CodesKey] = JsonSerializer.Serialize(codes);
        return Done(message, "security");
    }

    private RedirectToPageResult Done(string message, string? fragment = null)
    {
        TempData[SuccessKey] = message;
        return RedirectToPage(null, null, null, fragment);
    }

    private RedirectToPageResult Failed(string message)
    {
        TempData[ErrorKey] = message;
        return RedirectToPage();
    }

    private RedirectToPageResult ConfirmFirst(string what) => RedirectToPage(null, null, new { confirm = what }, "confirm");

    private async Task<bool> LoadAsync(CancellationToken ct)
    {
        var user = await users.FindByIdAsync(User.UserId().ToString());
        if (user is null)
        {
            return false;
        }
        Account = user;
        Roles = await users.GetRolesAsync(user);
        Sessions = await sessions.ListActiveAsync(user.Id, ct);
        CurrentSession = User.SessionId();
        TotpEnabled = await totp.IsEnabledAsync(user.Id, ct);
        RecoveryCodesRemaining = await recoveryCodes.RemainingAsync(user.Id, ct);
        Enrolment = TotpEnabled ? null : await totp.PendingAsync(user, ct);
        Devices = await devices.ForUserAsync(user.Id, ct);
        Applications = await oidcClients.ConnectedAsync(user.Id, ct);
        var uses = await db.PasskeyUses.Where(u => u.UserId == user.Id).ToListAsync(ct);
        Passkeys = [.. (await users.GetPasskeysAsync(user)).Select(p => new PasskeyView(
            Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(p.CredentialId), p.Name ?? "Passkey", p.CreatedAt,
            uses.FirstOrDefault(u => u.CredentialId.AsSpan().SequenceEqual(p.CredentialId))?.LastUsedAt))];
        // The (user_id, at) index serves this: the newest rows of one account.
        var rows = await db.AuditEvents.AsNoTracking()
            .Where(e => e.UserId == user.Id && ActivityActions.Contains(e.Action))
            .OrderByDescending(e => e.At).ThenByDescending(e => e.Id)
            .Take(ActivityShown)
            .Select(e => new { e.At, e.Action, e.ClientIp, e.Detail })
            .ToListAsync(ct);
        Activity = [.. rows.Select(r => new ActivityView(r.At, r.Action, r.ClientIp, MethodOf(r.Detail),
            r.Action is not (AuditActions.LoginFailed or AuditActions.LockedOut or AuditActions.RefreshReuseDetected)))];
        return true;
    }

    /// <summary>How it happened, from the event's detail: the channel (browser, api, …) or the proof used.</summary>
    private static string? MethodOf(string? detail)
    {
        if (string.IsNullOrEmpty(detail))
        {
            return null;
        }
        try
        {
            using var json = JsonDocument.Parse(detail);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && (json.RootElement.TryGetProperty("channel", out var channel) || json.RootElement.TryGetProperty("kind", out channel))
                && channel.ValueKind == JsonValueKind.String
                ? channel.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
