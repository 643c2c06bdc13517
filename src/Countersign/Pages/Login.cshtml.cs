using System.Security.Claims;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

/// <summary>The browser sign-in: the same pipeline and the same generic failure as the API.</summary>
public sealed class LoginModel(PasswordLogin login) : PageModel
{
    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public bool Failed { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(Username) || string.IsNullOrEmpty(Password))
        {
            Failed = true;
            return Page();
        }
        var result = await login.SignInAsync(Username, Password, SessionKinds.Browser, ClientInfo.From(HttpContext), ct);
        if (!result.Succeeded)
        {
            Failed = true;
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        var user = result.User!;
        var claims = new List<Claim>
        {
            new("sub", user.Id.ToString()),
            new("name", user.UserName!),
            new("sid", result.Session!.Id.ToString()),
        };
        claims.AddRange(result.Roles.Select(r => new Claim("roles", r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme, "name", "roles"));
        // A fresh cookie for a fresh session family: nothing from before sign-in carries over (ASVS 7.2.4).
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/account");
    }
}
