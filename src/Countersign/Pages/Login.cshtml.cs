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

namespace Countersign.Pages;

/// <summary>
/// The browser sign-in: the same pipeline, limits and generic failure as the API. When a proof of work
/// is needed, the altcha widget solves it in the browser and its payload travels in the <c>altcha</c> field.
/// When a second factor is needed, the page asks for it on a second step without re-sending the password:
/// the first step hands out a signed, five-minute, single-use step token naming the user.
/// </summary>
public sealed class LoginModel(SignInCore signIn, ClientFailures clientFailures, Captcha captcha, StepTokens steps,
    Oidc.OidcFormTargets formTargets) : PageModel
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

    private ClientInfo Client => ClientInfo.From(HttpContext);

    public async Task OnGetAsync()
    {
        StepToken = null;
        if (await clientFailures.RequireCaptchaAsync(Client.Ip))
        {
            NewChallenge();
        }
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        StepToken = null;
        if (string.IsNullOrEmpty(Username) || string.IsNullOrEmpty(Password))
        {
            return Fail(StatusCodes.Status400BadRequest, SignInPageText.InvalidCredentials);
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
        return outcome.Succeeded ? await SignInBrowserAsync(outcome) : await RefuseAsync(outcome);
    }

    public async Task<IActionResult> OnPostCodeAsync(CancellationToken ct)
    {
        var token = StepToken;
        StepToken = null;
        if (await steps.SpendAsync(token) is not { } userId)
        {
            return Fail(StatusCodes.Status400BadRequest, "That sign-in took too long. Please start again.");
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
        var refusal = SignInPageText.For(outcome);
        if (refusal.Challenge)
        {
            CaptchaJson = JsonSerializer.Serialize(outcome.Challenge);
        }
        else if (await clientFailures.RequireCaptchaAsync(Client.Ip))
        {
            NewChallenge();
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
