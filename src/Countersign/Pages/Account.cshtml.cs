using Countersign.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

[Authorize(Policy = Policies.BrowserSession)]
public sealed class AccountModel(UserManager<Accounts.User> users, SessionService sessions) : PageModel
{
    public string Username { get; private set; } = "";
    public IList<string> Roles { get; private set; } = [];
    public DateTimeOffset CreatedAt { get; private set; }
    public List<SessionFamily> Sessions { get; private set; } = [];
    public Guid? CurrentSession { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var user = await users.FindByIdAsync(User.UserId().ToString());
        if (user is null)
        {
            return RedirectToPage("/Login");
        }
        Username = user.UserName!;
        Roles = await users.GetRolesAsync(user);
        CreatedAt = user.CreatedAt;
        Sessions = await sessions.ListActiveAsync(user.Id, ct);
        CurrentSession = User.SessionId();
        return Page();
    }
}
