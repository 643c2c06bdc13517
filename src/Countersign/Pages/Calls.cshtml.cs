using Countersign.CallVerification;
using Countersign.Operations;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace Countersign.Pages;

/// <summary>
/// Call verification in the browser: a client's advisors with both words and the calling banner, and an
/// advisor's console of clients. The server renders the current words; calls.js keeps them live over the
/// hub and sends checks and call marks through it.
/// </summary>
[Authorize(Policy = Policies.BrowserSession)]
public sealed class CallsModel(PairService pairs, UserManager<Accounts.User> users, IOptionsMonitor<CallVerificationOptions> options,
    TimeProvider time, UiText text) : PageModel
{
    public UiText Text { get; } = text;
    public List<PairView> Advisors { get; private set; } = [];
    public List<PairView> Clients { get; private set; } = [];
    public DateTimeOffset Now { get; private set; }
    public DateTimeOffset WindowEndsAt { get; private set; }
    public int PeriodSeconds { get; private set; }
    public int InactivitySeconds { get; private set; }
    public int InactivityMinutes => Math.Max(1, (int)Math.Round(InactivitySeconds / 60.0));

    /// <summary>The advisor console's search, in the counterpart's name.</summary>
    [BindProperty(SupportsGet = true, Name = "q")]
    public string? Search { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (await users.FindByIdAsync(User.UserId().ToString()) is not { } user)
        {
            return Challenge();
        }
        var o = options.CurrentValue;
        Now = time.GetUtcNow();
        PeriodSeconds = (int)o.Period.TotalSeconds;
        InactivitySeconds = (int)o.InactivityTimeout.TotalSeconds;
        WindowEndsAt = WordDerivation.WindowEnd(WordDerivation.WindowAt(Now, o.Period), o.Period);
        var mine = await pairs.ForUserAsync(user.Id, Search, 0, 200, ct);
        Advisors = [.. mine.Where(p => p.MyRole == Accounts.Roles.Client)];
        Clients = [.. mine.Where(p => p.MyRole == Accounts.Roles.Advisor)];
        return Page();
    }
}
