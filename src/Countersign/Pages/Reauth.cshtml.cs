using System.Globalization;
using Countersign.Admin;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Passkeys;
using Countersign.Operations;
using Countersign.SignIn;
using Countersign.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages;

/// <summary>
/// Step-up re-authentication (ASVS V6): the signed-in user proves it is still them with the password, a code from
/// their authenticator app or a passkey, through the one sign-in core (rate limit, lockout, audit), and the cookie session gets a fresh
/// <c>reauth_time</c> (Admin/StepUp.cs). The session itself (its <c>sid</c>) is kept: this is not a new sign-in.
/// </summary>
[Authorize(Policy = Policies.BrowserSession)]
public sealed class ReauthModel(SignInCore signIn, TimeProvider time, IStringLocalizer<ReauthText> text, SignInManager<User> passkeys,
    UserManager<User> users, CountersignDb db, IStringLocalizer<AccountText> signInText) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    /// <summary>The WebAuthn assertion the page's script posts (JSON, as the browser serialises it).</summary>
    [BindProperty]
    public string? Credential { get; set; }

    public string? Message { get; private set; }

    /// <summary>Whether the signed-in account has a passkey to confirm with (the page offers the button only then).</summary>
    public bool HasPasskey { get; private set; }

    /// <summary>When the session last proved who it is, for the page's explanation.</summary>
    public DateTimeOffset? LastAuthenticated => StepUp.LastAuthenticated(User);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    private async Task LoadAsync(CancellationToken ct) => HasPasskey = await db.UserPasskeys.AnyAsync(p => p.UserId == User.UserId(), ct);

    /// <summary>
    /// WebAuthn request options naming the signed-in user (their credentials as allowCredentials): there is nothing to
    /// enumerate, the session already says who it is. Anti-forgery is Razor Pages' check on every POST.
    /// </summary>
    public async Task<IActionResult> OnPostPasskeyOptionsAsync() =>
        await users.FindByIdAsync(User.UserId().ToString()) is { } user
            ? Content(await passkeys.MakePasskeyRequestOptionsAsync(user), "application/json")
            : Unauthorized();

    /// <summary>
    /// The passkey step-up: the assertion must verify (Identity's ceremony, its signature counter kept) and belong to
    /// this session's user, and then the one sign-in core checks the account (disabled, lockout, rate limit) and writes
    /// the same <c>reauthenticated</c> row as a password or a code, with <c>factor = passkey</c>.
    /// </summary>
    public async Task<IActionResult> OnPostPasskeyAsync(CancellationToken ct)
    {
        var refused = new JsonResult(new { title = text["That passkey did not confirm it is you. Try again, or use your password."].Value })
        {
            StatusCode = StatusCodes.Status401Unauthorized,
        };
        if (string.IsNullOrEmpty(Credential) || Credential.Length > 64 * 1024
            || await passkeys.TryPasskeyAssertionAsync(Credential) is not { Succeeded: true } assertion || assertion.User.Id != User.UserId())
        {
            return refused;
        }
        await users.AddOrUpdatePasskeyAsync(assertion.User, assertion.Passkey);
        var client = ClientInfo.From(HttpContext);
        var outcome = await signIn.CheckAsync(new SignInAttempt
        {
            Channel = "reauth",
            Client = client,
            UserId = assertion.User.Id,
            Proven = new HashSet<string> { Factors.Passkey },
            Required = [Factors.Passkey],
        }, (account, _) => Task.FromResult(new AuditEntry(AuditActions.Reauthenticated, account.User.Id, account.User.UserName, client.Ip,
            AuditDetail.Of(new { factor = Factors.Passkey, session_id = User.SessionId() }))), ct);
        if (!outcome.Succeeded)
        {
            return refused;
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, StepUp.Refreshed(User, time.GetUtcNow(), Factors.Passkey));
        return new JsonResult(new { redirect = Back() });
    }

    public Task<IActionResult> OnPostPasswordAsync(CancellationToken ct) =>
        string.IsNullOrEmpty(Password) ? FailAsync(text["Enter your password."], ct) : CheckAsync(Factors.Password, ct);

    public Task<IActionResult> OnPostCodeAsync(CancellationToken ct)
    {
        var code = new string([.. (Code ?? "").Where(c => !char.IsWhiteSpace(c))]);
        return code.Length != 6 || !code.All(char.IsAsciiDigit)
            ? FailAsync(text["Enter the six digits your app shows."], ct)
            : CheckAsync(Factors.Totp, ct, code);
    }

    private async Task<IActionResult> CheckAsync(string factor, CancellationToken ct, string? code = null)
    {
        var client = ClientInfo.From(HttpContext);
        var outcome = await signIn.CheckAsync(new SignInAttempt
        {
            Channel = "reauth",
            Client = client,
            UserId = User.UserId(),
            Password = factor == Factors.Password ? Password : null,
            TotpCode = code,
            // Exactly the factor presented, and nothing else: the session stands for the earlier sign-in, this for the
            // person still being here. A TOTP code only counts for an account with an active authenticator (its check says so).
            Required = [factor],
        }, (account, _) => Task.FromResult(new AuditEntry(AuditActions.Reauthenticated, account.User.Id, account.User.UserName, client.Ip,
            AuditDetail.Of(new { factor, session_id = User.SessionId() }))), ct);
        if (!outcome.Succeeded)
        {
            var refusal = SignInPageText.For(outcome, signInText);

            if (refusal.RetryAfter is { } wait)
            {
                Response.Headers.RetryAfter = SignInProblems.Seconds(wait).ToString(CultureInfo.InvariantCulture);
            }
            Response.StatusCode = refusal.Status;
            Message = outcome.Status is SignInStatus.InvalidCredentials or SignInStatus.InvalidMfaCode or SignInStatus.MfaRequired
                ? text["That did not match. Try again."]
                : refusal.Message;
            await LoadAsync(ct);
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, StepUp.Refreshed(User, time.GetUtcNow(), factor));
        return LocalRedirect(Back());
    }

    /// <summary>Where to go once confirmed: the local URL the step-up came from (the framework's test), else the console.</summary>
    private string Back() => Url.IsLocalUrl(ReturnUrl) && ReturnUrl!.Length <= 2048 ? ReturnUrl : "/admin";

    private async Task<IActionResult> FailAsync(string message, CancellationToken ct)
    {
        Response.StatusCode = StatusCodes.Status400BadRequest;
        Message = message;
        await LoadAsync(ct);
        return Page();
    }
}
