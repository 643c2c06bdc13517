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
    IStringLocalizer<AccountText> text, IOptionsMonitor<PasswordPolicyOptions> policyOptions) : PageModel
{
    public const string StepKey = "PasswordChangeStep";
    public const string ReturnKey = "PasswordChangeReturnUrl";

    [BindProperty]
    public string? StepToken { get; set; }

    [BindProperty]
    public string? ReturnUrl { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty]
    public string? ConfirmPassword { get; set; }

    public IReadOnlyList<string> Errors { get; private set; } = [];

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
        var outcome = await signIn.SignInAsync(new SignInAttempt
        {
            Channel = SessionKinds.Browser,
            Client = ClientInfo.From(HttpContext),
            UserId = step.UserId,
            Proven = step.Factors.ToHashSet(),
            Required = [],
            NewPassword = NewPassword,
        }, SessionKinds.Browser, ct);
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
