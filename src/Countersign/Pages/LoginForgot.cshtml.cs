using System.Globalization;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Operations;
using Countersign.SignIn;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace Countersign.Pages;

/// <summary>
/// A forgotten password, without e-mail (Countersign has no mail channel): a recovery code and a current authenticator
/// code together stand in for the password, checked by the sign-in core with every factor required, so the limits, the
/// proof of work, the lockout and the one generic failure are those of a sign-in. An account without them cannot be
/// recovered here, and the page says to ask an administrator, without saying which accounts have them.
/// </summary>
public sealed class LoginForgotModel(SignInCore signIn, AccountAdmin accounts, ClientFailures clientFailures, Captcha captcha,
    IStringLocalizer<AccountText> text, IOptionsMonitor<PasswordPolicyOptions> policyOptions) : PageModel
{
    public const string Channel = "password_reset";

    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? RecoveryCode { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty]
    public string? ConfirmPassword { get; set; }

    public IReadOnlyList<string> Errors { get; private set; } = [];

    public string? CaptchaJson { get; private set; }

    public async Task OnGetAsync()
    {
        if (await clientFailures.RequireCaptchaAsync(ClientInfo.IpOf(HttpContext)))
        {
            CaptchaJson = JsonSerializer.Serialize(captcha.Create());
        }
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(Username) || string.IsNullOrWhiteSpace(RecoveryCode) || string.IsNullOrWhiteSpace(Code)
            || string.IsNullOrEmpty(NewPassword))
        {
            return await RefuseAsync(StatusCodes.Status400BadRequest, null, text["Fill in every field."]);
        }
        if (NewPassword != ConfirmPassword)
        {
            return await RefuseAsync(StatusCodes.Status400BadRequest, null, text["The two passwords are not the same."]);
        }
        // The policy first, judged on the name as typed (no look-up), so a refused password spends no recovery code.
        var policy = await accounts.CheckPasswordAsync(new User { UserName = UsernameValidator.IsPlausible(Username) ? Username : null }, NewPassword);
        if (!policy.Succeeded)
        {
            return await RefuseAsync(StatusCodes.Status400BadRequest, null, PasswordErrorText.Describe(policy.Errors, text, policyOptions.CurrentValue)
);
        }
        var client = ClientInfo.From(HttpContext);
        var solution = Request.Form["altcha"].ToString();
        var outcome = await signIn.CheckAsync(new SignInAttempt
        {
            Channel = Channel,
            Client = client,
            Username = Username,
            RecoveryCode = RecoveryCode.Trim(),
            TotpCode = Code.Replace(" ", "", StringComparison.Ordinal),
            Captcha = solution.Length == 0 ? null : solution,
            // Both, always both: one of them alone is a second factor, not a replacement for the password.
            Required = [Factors.RecoveryCode, Factors.Totp],
        }, async (account, ct) =>
        {
            // Every sign-in and device ends: whoever knew the old password is out (ASVS 7.4.3).
            await accounts.StagePasswordAsync(account.User, NewPassword, ct);
            account.User.PasswordChangeRequired = false;
            return new AuditEntry(AuditActions.PasswordReset, account.User.Id, account.User.UserName, client.Ip,
                AuditDetail.Of(new { channel = Channel }));
        }, ct);
        if (outcome.Succeeded)
        {
            TempData[LoginModel.NoticeKey] = text["Your password is reset, and every session of your account was signed out. Sign in with the new password."].Value;
            return RedirectToPage("/Login");
        }
        var refusal = SignInPageText.For(outcome, text);
        if (refusal.RetryAfter is { } wait)
        {
            Response.Headers.RetryAfter = SignInProblems.Seconds(wait).ToString(CultureInfo.InvariantCulture);
        }
        // One answer for an unknown name, a wrong code and an account without codes (ASVS 6.3.8).
        var message = outcome.Status is SignInStatus.InvalidCredentials or SignInStatus.InvalidMfaCode
            ? text["That did not work. Check the username and both codes; if your account has no authenticator app or recovery codes, ask an administrator."].Value
            : refusal.Message;
        return await RefuseAsync(outcome.Status is SignInStatus.InvalidMfaCode ? StatusCodes.Status401Unauthorized : refusal.Status,
            refusal.Challenge ? outcome.Challenge : null, message);
    }

    private async Task<PageResult> RefuseAsync(int status, CaptchaChallenge? challenge, params string[] errors)
    {
        Errors = errors;
        Response.StatusCode = status;
        if (challenge is not null)
        {
            CaptchaJson = JsonSerializer.Serialize(challenge);
        }
        else if (await clientFailures.RequireCaptchaAsync(ClientInfo.IpOf(HttpContext)))
        {
            CaptchaJson = JsonSerializer.Serialize(captcha.Create());
        }
        return Page();
    }
}
