using System.Globalization;
using System.Text.Json;
using Countersign.Defences;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.SignIn;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages;

/// <summary>
/// The browser sign-in: the same pipeline, limits and generic failure as the API. When a proof of work
/// is needed, the altcha widget solves it in the browser and its payload travels in the <c>altcha</c> field.
/// When a second factor is needed, the page asks for it on a second step without re-sending the password:
/// the first step hands out a signed, five-minute, single-use step token naming the user.
/// </summary>
public sealed class LoginModel(SignInCore signIn, ClientFailures clientFailures, Captcha captcha, StepTokens steps,
    Oidc.OidcFormTargets formTargets, IStringLocalizer<AccountText> text) : PageModel
{
    /// <summary>Signing in for an application ends in a redirect to it: this page's forms may lead to its registered origins.</summary>
    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        await formTargets.AllowClientOfAsync(HttpContext, ReturnUrl);
        await next();
    }

    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? StepToken { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Message { get; private set; }

    /// <summary>The second factors this user has, for the second step.</summary>
    public IReadOnlyList<string> Methods { get; private set; } = [];

    /// <summary>A fresh challenge for the widget, when this client must solve one.</summary>
    public string? CaptchaJson { get; private set; }

    /// <summary>
    /// True only when it is this address that failed too often: a challenge that comes with a locked username says
    /// nothing about this address, so the page does not claim it did.
    /// </summary>
    public bool AddressFailed { get; private set; }

    /// <summary>A note carried over a redirect (the account was created, the password was reset).</summary>
    [TempData(Key = NoticeKey)]
    public string? Notice { get; set; }

    public const string NoticeKey = "LoginNotice";

    private ClientInfo Client => ClientInfo.From(HttpContext);

    public async Task OnGetAsync()
    {
        StepToken = null;
        if (await clientFailures.RequireCaptchaAsync(Client.Ip))
        {
            AddressFailed = true;
            NewChallenge();
        }
    }

    /// <summary>
    /// Every factor passed but the password was chosen by someone else: on to the page that replaces it, with a
    /// single-use ticket in TempData (a protected cookie), never in the URL.
    /// </summary>
    private RedirectToPageResult ChangePasswordFirst(SignInOutcome outcome)
    {
        TempData[LoginNewPasswordModel.StepKey] = steps.CreateForPasswordChange(outcome.Account!.User.Id, outcome.Factors);
        TempData[LoginNewPasswordModel.ReturnKey] = Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : null;
        return RedirectToPage("/LoginNewPassword");
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        StepToken = null;
        if (string.IsNullOrEmpty(Username) || string.IsNullOrEmpty(Password))
        {
            return Fail(StatusCodes.Status400BadRequest, SignInPageText.InvalidCredentials(text));
        }
        var solution = Request.Form["altcha"].ToString();
        var outcome = await signIn.SignInAsync(new SignInAttempt
        {
            Channel = SessionKinds.Browser,
            Client = Client,
            Username = Username,
            Password = Password,
            Captcha = solution.Length == 0 ? null : solution,
        }, SessionKinds.Browser, ct);
        if (outcome.Status == SignInStatus.MfaRequired)
        {
            StepToken = steps.Create(outcome.Account!.User.Id);
            Methods = outcome.Methods;
            return Page();
        }
        if (outcome.Status == SignInStatus.PasswordChangeRequired)
        {
            return ChangePasswordFirst(outcome);
        }
        return outcome.Succeeded ? await SignInBrowserAsync(outcome) : await RefuseAsync(outcome);
    }

    public async Task<IActionResult> OnPostCodeAsync(CancellationToken ct)
    {
        var token = StepToken;
        StepToken = null;
        if (await steps.SpendAsync(token) is not { } userId)
        {
            return Fail(StatusCodes.Status400BadRequest, text["That sign-in took too long. Please start again."]);
        }
        var code = (Code ?? "").Trim();
        var isTotp = code.Length == 6 && code.All(char.IsAsciiDigit);
        // The spent step token proved the password moments ago; now the code.
        var outcome = await signIn.SignInAsync(new SignInAttempt
        {
            Channel = SessionKinds.Browser,
            Client = Client,
            UserId = userId,
            Proven = new HashSet<string> { Factors.Password },
            TotpCode = isTotp ? code : null,
            RecoveryCode = isTotp ? null : code,
        }, SessionKinds.Browser, ct);
        if (outcome.Status == SignInStatus.InvalidMfaCode)
        {
            StepToken = steps.Create(userId);
            Methods = outcome.Methods;
        }
        if (outcome.Status == SignInStatus.PasswordChangeRequired)
        {
            return ChangePasswordFirst(outcome);
        }
        return outcome.Succeeded ? await SignInBrowserAsync(outcome) : await RefuseAsync(outcome);
    }

    private async Task<IActionResult> SignInBrowserAsync(SignInOutcome outcome)
    {
        // A fresh cookie for a fresh session family: nothing from before sign-in carries over (ASVS 7.2.4).
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, BrowserPrincipal.For(outcome));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/account");
    }

    private async Task<PageResult> RefuseAsync(SignInOutcome outcome)
    {
        var refusal = SignInPageText.For(outcome, text);

        AddressFailed = await clientFailures.RequireCaptchaAsync(Client.Ip);
        if (refusal.Challenge)
        {
            CaptchaJson = JsonSerializer.Serialize(outcome.Challenge);
        }
        else if (AddressFailed)
        {
            NewChallenge();
        }
        if (outcome.Status == SignInStatus.CaptchaRequired && Request.Form["CaptchaShown"] == "1" && string.IsNullOrEmpty(Request.Form["altcha"].ToString()))
        {
            // Sent before the browser finished the proof of work (or without JavaScript): say why nothing happened.
            refusal = refusal with { Message = text["Your browser had not finished the short check yet. Wait until it says it is done, then press Sign in again."] };
        }
        if (refusal.RetryAfter is { } wait)
        {
            Response.Headers.RetryAfter = SignInProblems.Seconds(wait).ToString(CultureInfo.InvariantCulture);
        }
        return Fail(refusal.Status, refusal.Message);
    }

    private void NewChallenge() => CaptchaJson = JsonSerializer.Serialize(captcha.Create());

    private PageResult Fail(int status, string message)
    {
        Response.StatusCode = status;
        Message = message;
        return Page();
    }
}
