using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Operations;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace Countersign.Pages;

/// <summary>
/// Self-registration in the browser, when <c>Accounts:SelfRegistration</c> is on (404 otherwise, as if there were no
/// page): the same <see cref="AccountAdmin.CreateAsync(string, string, string?, IEnumerable{string}, string, string?, string?, CancellationToken)"/>
/// and the same per-address limit as <c>POST /api/accounts</c>, and the same rule that "taken" is said only to a request
/// whose password the policy accepted, so the page tells no more about which names exist than the API does.
/// </summary>
public sealed class SignupModel(AccountAdmin accounts, RateLimiter limiter, IOptionsSnapshot<AccountsOptions> options,
    IStringLocalizer<AccountText> text, IOptionsMonitor<PasswordPolicyOptions> policy) : PageModel
{
    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty]
    public string? ConfirmPassword { get; set; }

    public IReadOnlyList<string> Errors { get; private set; } = [];

    public IActionResult OnGet() => options.Value.SelfRegistration ? Page() : NotFound();

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (!options.Value.SelfRegistration)
        {
            return NotFound();
        }
        if (await limiter.HitAsync(RateLimitedRoute.Registration, ClientInfo.IpOf(HttpContext)) is { } wait)
        {
            Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Refuse(StatusCodes.Status429TooManyRequests, text["Too many attempts. Try again in {0} seconds.", (int)Math.Ceiling(wait.TotalSeconds)]);
        }
        if (string.IsNullOrWhiteSpace(Username) || string.IsNullOrEmpty(NewPassword))
        {
            return Refuse(StatusCodes.Status400BadRequest, text["Choose a username and a password."]);
        }
        if (NewPassword != ConfirmPassword)
        {
            return Refuse(StatusCodes.Status400BadRequest, text["The two passwords are not the same."]);
        }
        // The account speaks the language its sign-up page was shown in (the browser's, or an application's ui_locales):
        // what the person read while choosing it is the nearest thing to their choice (docs/architecture.md).
        var (user, result) = await accounts.CreateAsync(Username, NewPassword, null, [], AuditActions.Register, actor: null,
            ClientInfo.IpOf(HttpContext), Languages.Of(System.Globalization.CultureInfo.CurrentUICulture), alsoStage: null, ct);
        if (user is null)
        {
            return result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName))
                ? Refuse(StatusCodes.Status409Conflict, text["That username is already taken."])
                : Refuse(StatusCodes.Status400BadRequest, PasswordErrorText.Describe(result.Errors, text, policy.CurrentValue));

        }
        TempData[LoginModel.NoticeKey] = text["Your account {0} is created. Sign in to continue.", user.UserName!].Value;
        return RedirectToPage("/Login");
    }

    private PageResult Refuse(int status, params string[] errors)
    {
        Errors = errors;
        Response.StatusCode = status;
        return Page();
    }
}
