using Countersign.Accounts;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.SignIn;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace Countersign.Pages;

/// <summary>
/// The forced change: an account whose password someone else chose (an administrator's one-time password, <c>demo seed</c>)
/// comes here from <c>/login</c> once every factor passed, with a single-use ticket, and gets its session only with a
/// password of its own (ASVS 6.4.1). The sign-in core starts that session, so the lockout, the audit and a disabled account
/// apply as on any sign-in.
/// </summary>
public sealed class LoginNewPasswordModel(StepTokens steps, SignInCore signIn, AccountAdmin accounts, UserManager<User> users,
    IStringLocalizer<AccountText> text, IStringLocalizer<MoreText> more, IOptionsMonitor<PasswordPolicyOptions> policyOptions) : PageModel
{
    public const string StepKey = StepTokens.PasswordChangeStepKey;
    public const string ReturnKey = StepTokens.PasswordChangeReturnKey;

    [BindProperty]
    public string? StepToken { get; set; }

    [BindProperty]
    public string? ReturnUrl { get; set; }

    /// <summary>The password the user was given, when the ticket's sign-in did not prove it (a passkey).</summary>
    [BindProperty]
    public string? CurrentPassword { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty]
    public string? ConfirmPassword { get; set; }

    public IReadOnlyList<string> Errors { get; private set; } = [];

    /// <summary>
    /// A passkey sign-in reaches this page without the password. A passkey proves the person, not that they may set a
    /// password: a password change takes the current one (ASVS 6.2.3), here the one-time password the administrator gave,
    /// checked by the sign-in core (lockout, audit) before the new one is taken.
    /// </summary>
    public bool NeedsCurrentPassword => steps.PeekPasswordChangeFactors(StepToken) is { } factors && !factors.Contains(Factors.Password);

    /// <summary>The ticket arrives once, through TempData; a reload without it goes back to the sign-in.</summary>
    public IActionResult OnGet()
    {
        StepToken = TempData[StepKey] as string;
        ReturnUrl = TempData[ReturnKey] as string;
        return steps.PeekPasswordChange(StepToken) is null ? RedirectToPage("/Login") : Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (steps.PeekPasswordChange(StepToken) is not { } userId || await users.FindByIdAsync(userId.ToString()) is not { } user)
        {
            return Expired();
        }
        if (string.IsNullOrEmpty(NewPassword) || NewPassword != ConfirmPassword)
        {
            return Refuse(text["The two passwords are not the same."]);
        }
        var policy = await accounts.CheckPasswordAsync(user, NewPassword);
        if (!policy.Succeeded)
        {
            return Refuse(PasswordErrorText.Describe(policy.Errors, text, policyOptions.CurrentValue)
);
        }
        if (await steps.SpendPasswordChangeAsync(StepToken) is not { } step)
        {
            return Expired();
        }
        // Required = []: nothing beyond the factors the ticket says passed a moment ago; the core still checks the account.
        // Without the password among them (a passkey sign-in), the password the user was given is required as well.
        var needsPassword = !step.Factors.Contains(Factors.Password);
        var outcome = await signIn.SignInAsync(new SignInAttempt
        {
            Channel = SessionKinds.Browser,
            Client = ClientInfo.From(HttpContext),
            UserId = step.UserId,
            Proven = step.Factors.ToHashSet(),
            Required = needsPassword ? [Factors.Password] : [],
            Password = needsPassword ? CurrentPassword ?? "" : null,
            NewPassword = NewPassword,
        }, SessionKinds.Browser, ct);
        if (needsPassword && outcome.Status == SignInStatus.InvalidCredentials)
        {
            // Counted by the lockout like any wrong password; the passkey's ticket is renewed so the user can try again.
            StepToken = steps.CreateForPasswordChange(step.UserId, step.Factors);
            return Refuse(more["That is not the password you were given."]);
        }
        if (outcome.Status == SignInStatus.PasswordChangeRequired)
        {
            // The "new" password was the old one: a fresh ticket, and the same page again.
            StepToken = steps.CreateForPasswordChange(step.UserId, step.Factors);
            return Refuse(text["Choose a password other than the one you were given."]);
        }
        if (!outcome.Succeeded)
        {
            return Expired();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, BrowserPrincipal.For(outcome));
        TempData[AccountModel.SuccessKey] = text["Your new password is saved."].Value;
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/account");
    }

    private RedirectToPageResult Expired()
    {
        TempData[LoginModel.NoticeKey] = text["That sign-in took too long. Please sign in again."].Value;
        return RedirectToPage("/Login");
    }

    private PageResult Refuse(params string[] errors)
    {
        Errors = errors;
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }
}
