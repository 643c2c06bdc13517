using System.Globalization;
using System.Text.Json;
using Countersign.Defences;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

/// <summary>
/// The browser sign-in: the same pipeline, limits and generic failure as the API. When a proof of work
/// is needed, the altcha widget solves it in the browser and its payload travels in the <c>altcha</c> field.
/// When a second factor is needed, the page asks for it on a second step without re-sending the password:
/// the first step hands out a signed, five-minute, single-use step token naming the user.
/// </summary>
public sealed class LoginModel(
    PasswordLogin login, RateLimiter limiter, ClientFailures clientFailures, Captcha captcha, StepTokens steps) : PageModel
{
    public const string InvalidCredentials = "The username or password is incorrect.";

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

    private string? ClientIp => HttpContext.Connection.RemoteIpAddress?.ToString();

    public async Task OnGetAsync()
    {
        StepToken = null;
        if (await clientFailures.RequireCaptchaAsync(ClientIp))
        {
            NewChallenge();
        }
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        StepToken = null;
        if (await limiter.HitAsync(RateLimitedRoute.Login, ClientIp) is { } wait)
        {
            return TooMany(wait);
        }
        if (string.IsNullOrEmpty(Username) || string.IsNullOrEmpty(Password))
        {
            return Fail(StatusCodes.Status400BadRequest, InvalidCredentials);
        }
        var solution = Request.Form["altcha"].ToString();
        var result = await login.SignInAsync(new LoginAttempt(Username, Password, solution.Length == 0 ? null : solution),
            SessionKinds.Browser, ClientInfo.From(HttpContext), ct);
        switch (result.Outcome)
        {
            case LoginOutcome.Succeeded:
                return await SignInBrowserAsync(result);
            case LoginOutcome.SecondFactorRequired:
                StepToken = steps.Create(result.User!.Id);
                Methods = result.Methods;
                return Page();
            case LoginOutcome.Locked or LoginOutcome.CaptchaRequired:
                NewChallenge();
                return Fail(result.Outcome == LoginOutcome.Locked ? StatusCodes.Status423Locked : StatusCodes.Status428PreconditionRequired,
                    "Too many failed attempts. Wait for the check below to finish, then sign in again.");
            default:
                if (await clientFailures.RequireCaptchaAsync(ClientIp))
                {
                    NewChallenge();
                }
                return Fail(StatusCodes.Status401Unauthorized, InvalidCredentials);
        }
    }

    public async Task<IActionResult> OnPostCodeAsync(CancellationToken ct)
    {
        if (await limiter.HitAsync(RateLimitedRoute.SecondFactor, ClientIp) is { } wait)
        {
            return TooMany(wait);
        }
        var token = StepToken;
        StepToken = null;
        if (await steps.SpendAsync(token) is not { } userId)
        {
            return Fail(StatusCodes.Status400BadRequest, "That sign-in took too long. Please start again.");
        }
        var code = (Code ?? "").Trim();
        var isTotp = code.Length == 6 && code.All(char.IsAsciiDigit);
        var result = await login.CompleteSecondFactorAsync(userId, isTotp ? code : null, isTotp ? null : code, SessionKinds.Browser,
            ClientInfo.From(HttpContext), ct);
        switch (result.Outcome)
        {
            case LoginOutcome.Succeeded:
                return await SignInBrowserAsync(result);
            case LoginOutcome.InvalidSecondFactor:
                StepToken = steps.Create(userId);
                Methods = result.Methods;
                return Fail(StatusCodes.Status400BadRequest, "The code is not valid.");
            case LoginOutcome.Locked:
                NewChallenge();
                return Fail(StatusCodes.Status423Locked, "Too many failed attempts. Wait for the check below to finish, then sign in again.");
            default:
                return Fail(StatusCodes.Status401Unauthorized, InvalidCredentials);
        }
    }

    private async Task<IActionResult> SignInBrowserAsync(LoginResult result)
    {
        // A fresh cookie for a fresh session family: nothing from before sign-in carries over (ASVS 7.2.4).
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, BrowserPrincipal.For(result));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/account");
    }

    private void NewChallenge() => CaptchaJson = JsonSerializer.Serialize(captcha.Create());

    private PageResult TooMany(TimeSpan wait)
    {
        var seconds = (int)Math.Ceiling(wait.TotalSeconds);
        Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Fail(StatusCodes.Status429TooManyRequests, $"Too many attempts. Try again in {seconds} seconds.");
    }

    private PageResult Fail(int status, string message)
    {
        Response.StatusCode = status;
        Message = message;
        return Page();
    }
}
