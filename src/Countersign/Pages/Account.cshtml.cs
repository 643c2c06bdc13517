using Countersign.Audit;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Totp;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Pages;

/// <summary>The signed-in user's account: profile, sessions and the Security section (second factors).</summary>
[Authorize(Policy = Policies.BrowserSession)]
public sealed class AccountModel(
    UserManager<Accounts.User> users, SessionService sessions, TotpService totp, RecoveryCodes recoveryCodes, SecondFactorAdmin factors,
    Storage.CountersignDb db, Audit.AuditLog audit, Accounts.AccountAdmin accounts, Defences.RateLimiter limiter,
    ForwardAuth.DeviceService devices, Oidc.OidcClients oidcClients) : PageModel
{
    public Accounts.User Account { get; private set; } = null!;
    public IList<string> Roles { get; private set; } = [];
    public List<SessionFamily> Sessions { get; private set; } = [];
    public Guid? CurrentSession { get; private set; }
    public bool TotpEnabled { get; private set; }
    public int RecoveryCodesRemaining { get; private set; }
    /// <summary>An enrolment waiting for its confirming code.</summary>
    public TotpEnrolment? Enrolment { get; private set; }
    /// <summary>Recovery codes to show once, right after they were made.</summary>
    public IReadOnlyList<string>? NewRecoveryCodes { get; private set; }
    public string? Message { get; private set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public string? CredentialId { get; set; }

    [BindProperty]
    public string? PasskeyName { get; set; }

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
        return RedirectToPage();
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
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostRenamePasskeyAsync(CancellationToken ct) =>
        await ChangePasskeyAsync(Audit.AuditActions.PasskeyRenamed, async (user, passkey) =>
        {
            passkey.Name = (PasskeyName ?? "").Trim() is { Length: > 0 } name ? name[..Math.Min(name.Length, 64)] : passkey.Name;
            return await users.AddOrUpdatePasskeyAsync(user, passkey);
        }, ct);

    /// <summary>Removing a passkey is a factor change: the user's other sessions end (ASVS 7.4.3).</summary>
    public async Task<IActionResult> OnPostRemovePasskeyAsync(CancellationToken ct) =>
        await ChangePasskeyAsync(Audit.AuditActions.PasskeyRemoved, async (user, passkey) =>
        {
            var result = await users.RemovePasskeyAsync(user, passkey.CredentialId);
            await sessions.RevokeOthersAsync(user.Id, CurrentSession, "factor_changed", ct);
            return result;
        }, ct);

    private async Task<IActionResult> ChangePasskeyAsync(string action, Func<Accounts.User, UserPasskeyInfo, Task<IdentityResult>> change, CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        if (CredentialId is null || !TryDecode(CredentialId, out var id) || await users.GetPasskeyAsync(Account, id) is not { } passkey)
        {
            return NotFound();
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if ((await change(Account, passkey)).Succeeded)
        {
            audit.Add(db, new(action, Account.Id, Account.UserName, ClientInfo.IpOf(HttpContext),
                AuditDetail.Of(new { name = passkey.Name })));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        return RedirectToPage();
    }

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

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => await LoadAsync(ct) ? Page() : RedirectToPage("/Login");

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
            Message = "Choose one of the languages offered.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        // Post/redirect/get: the page that follows is read in the new language.
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostStartTotpAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        Enrolment = await totp.StartAsync(Account, ct);
        return Page();
    }

    public async Task<IActionResult> OnPostConfirmTotpAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        NewRecoveryCodes = await factors.ConfirmAsync(Account.Id, Account.UserName, Code ?? "", CurrentSession, ClientInfo.From(HttpContext), ct);
        if (NewRecoveryCodes is null)
        {
            Message = "That code did not match. Check the time on your phone and try the next code.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostRegenerateCodesAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        NewRecoveryCodes = await factors.RegenerateRecoveryCodesAsync(Account.Id, Account.UserName, ClientInfo.From(HttpContext), ct);
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostDisableTotpAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct))
        {
            return RedirectToPage("/Login");
        }
        // The password check below is a guess like any other: the same per-address limit as a second-factor
        // step, as the API's DELETE /api/me/totp has (ASVS 2.2.1).
        if (await limiter.HitAsync(Defences.RateLimitedRoute.SecondFactor, ClientInfo.IpOf(HttpContext)) is { } wait)
        {
            Message = $"Too many attempts. Try again in {(int)Math.Ceiling(wait.TotalSeconds)} seconds.";
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return Page();
        }
        // ASVS 7.5.1: removing a factor needs the password again.
        if (string.IsNullOrEmpty(Password) || !await users.CheckPasswordAsync(Account, Password))
        {
            Message = "The password is incorrect.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        await factors.RemoveAsync(Account, "self", CurrentSession, ClientInfo.From(HttpContext), ct: ct);
        await LoadAsync(ct);
        Message = "The authenticator app is removed; your other sessions were signed out.";
        return Page();
    }

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
        return true;
    }
}
