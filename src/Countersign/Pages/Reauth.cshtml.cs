using System.Globalization;
using Countersign.Admin;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.SignIn;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages;

/// <summary>
/// Step-up re-authentication (ASVS V6): the signed-in user proves it is still them with the password or a code from
/// their authenticator app, through the one sign-in core (rate limit, lockout, audit), and the cookie session gets a fresh
/// <c>reauth_time</c> (Admin/StepUp.cs). The session itself (its <c>sid</c>) is kept: this is not a new sign-in.
/// </summary>
[Authorize(Policy = Policies.BrowserSession)]
public sealed class ReauthModel(SignInCore signIn, TimeProvider time, IStringLocalizer<ReauthText> text,
    IStringLocalizer<AccountText> signInText) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    public string? Message { get; private set; }

    /// <summary>When the session last proved who it is, for the page's explanation.</summary>
    public DateTimeOffset? LastAuthenticated => StepUp.LastAuthenticated(User);

    public void OnGet()
    {
    }

    public Task<IActionResult> OnPostPasswordAsync(CancellationToken ct) =>
        string.IsNullOrEmpty(Password) ? Task.FromResult<IActionResult>(Fail(text["Enter your password."])) : CheckAsync(Factors.Password, ct);

    public Task<IActionResult> OnPostCodeAsync(CancellationToken ct)
    {
        var code = new string([.. (Code ?? "").Where(c => !char.IsWhiteSpace(c))]);
        return code.Length != 6 || !code.All(char.IsAsciiDigit)
            ? Task.FromResult<IActionResult>(Fail(text["Enter the six digits your app shows."]))
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
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, StepUp.Refreshed(User, time.GetUtcNow(), factor));
        return LocalRedirect(StepUp.IsLocal(ReturnUrl) ? ReturnUrl! : "/admin");
    }

    private PageResult Fail(string message)
    {
        Response.StatusCode = StatusCodes.Status400BadRequest;
        Message = message;
        return Page();
    }
}
