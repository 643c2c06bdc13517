using System.Globalization;
using System.Security.Claims;
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
/// </summary>
public sealed class LoginModel(PasswordLogin login, RateLimiter limiter, ClientFailures clientFailures, Captcha captcha) : PageModel
{
    public const string InvalidCredentials = "The username or password is incorrect.";

    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Message { get; private set; }

    /// <summary>A fresh challenge for the widget, when this client must solve one.</summary>
    public string? CaptchaJson { get; private set; }

    public async Task OnGetAsync()
    {
        if (await clientFailures.RequireCaptchaAsync(ClientIp))
        {
            NewChallenge();
        }
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (await limiter.HitAsync(RateLimitedRoute.Login, ClientIp) is { } wait)
        {
            Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Fail(StatusCodes.Status429TooManyRequests, $"Too many attempts. Try again in {(int)Math.Ceiling(wait.TotalSeconds)} seconds.");
        }
        if (string.IsNullOrEmpty(Username) || string.IsNullOrEmpty(Password))
        {
            return Fail(StatusCodes.Status400BadRequest, InvalidCredentials);
        }
        var solution = Request.Form["altcha"].ToString();
        var result = await login.SignInAsync(Username, Password, solution.Length == 0 ? null : solution, SessionKinds.Browser,
            ClientInfo.From(HttpContext), ct);
        switch (result.Outcome)
        {
            case LoginOutcome.Locked:
                NewChallenge();
                return Fail(StatusCodes.Status423Locked, "Too many failed attempts. Wait for the check below to finish, then sign in again.");
            case LoginOutcome.CaptchaRequired:
                NewChallenge();
                return Fail(StatusCodes.Status428PreconditionRequired, "Too many failed attempts. Wait for the check below to finish, then sign in again.");
            case LoginOutcome.InvalidCredentials:
                if (await clientFailures.RequireCaptchaAsync(ClientIp))
                {
                    NewChallenge();
                }
                return Fail(StatusCodes.Status401Unauthorized, InvalidCredentials);
        }

        var user = result.User!;
        var claims = new List<Claim>
        {
            new("sub", user.Id.ToString()),
            new("name", user.UserName!),
            new("sid", result.Session!.Id.ToString()),
        };
        claims.AddRange(result.Roles!.Select(r => new Claim("roles", r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme, "name", "roles"));
        // A fresh cookie for a fresh session family: nothing from before sign-in carries over (ASVS 7.2.4).
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/account");
    }

    private string? ClientIp => HttpContext.Connection.RemoteIpAddress?.ToString();

    private void NewChallenge() => CaptchaJson = JsonSerializer.Serialize(captcha.Create());

    private PageResult Fail(int status, string message)
    {
        Response.StatusCode = status;
        Message = message;
        return Page();
    }
}
