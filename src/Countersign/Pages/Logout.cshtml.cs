using Countersign.Operations;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

/// <summary>
/// Sign-out ends the session family on the server, not just the cookie (ASVS 7.4.1), then redirects: the "Signed out"
/// page is a fresh request without the cookie, so its header shows the true state (rendered in the POST itself, it
/// still showed the user as signed in), and a reload does not post again.
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
        return RedirectToPage();
    }
}
