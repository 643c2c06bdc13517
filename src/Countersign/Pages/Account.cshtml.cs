using Countersign.Sessions;
using Countersign.Totp;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

/// <summary>The signed-in user's account: profile, sessions and the Security section (second factors).</summary>
[Authorize(Policy = Policies.BrowserSession)]
public sealed class AccountModel(
    UserManager<Accounts.User> users, SessionService sessions, TotpService totp, RecoveryCodes recoveryCodes, SecondFactorAdmin factors) : PageModel
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

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => await LoadAsync(ct) ? Page() : RedirectToPage("/Login");

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
        // ASVS 7.5.1: removing a factor needs the password again.
        if (string.IsNullOrEmpty(Password) || !await users.CheckPasswordAsync(Account, Password))
        {
            Message = "The password is incorrect.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        await factors.RemoveAsync(Account, "self", CurrentSession, ClientInfo.From(HttpContext), ct);
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
        return true;
    }
}
