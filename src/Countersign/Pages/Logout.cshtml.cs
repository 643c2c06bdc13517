using Countersign.Operations;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

/// <summary>
/// Sign-out ends the session family on the server, not just the cookie (ASVS 7.4.1), and the "Signed out" page is
/// rendered for an anonymous principal, so its header shows the true state (it used to show the user still signed in),
/// in the user's language (a redirect would lose it: the next request has no user to read it from).
/// </summary>
public sealed class LogoutModel(SessionService sessions) : PageModel
{
    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var auth = await HttpContext.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        if (auth.Principal?.SessionId() is { } sid)
        {
            await sessions.RevokeFamilyAsync(sid, "logout", ct);
        }
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        // The page below renders for no one: its header shows the signed-out state, in the language already chosen.
        HttpContext.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity());
        return Page();
    }
}
