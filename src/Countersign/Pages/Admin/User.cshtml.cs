using Countersign.Accounts;
using Countersign.Admin;
using Countersign.Audit;
using Countersign.CallVerification;
using Countersign.ForwardAuth;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Storage;
using Countersign.Totp;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Pages.Admin;

/// <summary>One account: status, roles, second factors, sessions, devices, grants, pairs and its audit trail.</summary>
public sealed class UserModel(UserDirectory directory, AccountAdmin accounts, SecondFactorAdmin factors, AdminUsers admin,
    SessionService sessions, DeviceService devices, ServiceAdmin services, PairService pairs, CountersignDb db) : AdminPageModel
{
    [BindProperty(SupportsGet = true)]
    public Guid Id { get; set; }

    [BindProperty]
    public string? Role { get; set; }

    [BindProperty]
    public Guid SessionId { get; set; }

    public UserDetail Detail { get; private set; } = null!;

    public List<SessionFamily> Sessions { get; private set; } = [];

    public List<DeviceView> Devices { get; private set; } = [];

    public List<GrantSummary> Grants { get; private set; } = [];

    public List<PairSummary> Pairs { get; private set; } = [];

    public List<AuditEvent> Trail { get; private set; } = [];

    public string? OneTimePassword { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (await directory.FindAsync(Id, ct) is not { } user)
        {
            return NotFound();
        }
        OneTimePassword = TempData["OneTimePassword"] as string;
        Detail = await directory.DetailAsync(user, ct);
        Sessions = await sessions.ListActiveAsync(user.Id, ct);
        Devices = await devices.ForUserAsync(user.Id, ct);
        Grants = await services.ListGrantsAsync(user.UserName, null, ct);
        Pairs = [.. (await pairs.ListAsync(ct)).Where(p => p.Advisor == user.UserName || p.Client == user.UserName)];
        Trail = await db.AuditEvents.AsNoTracking().Where(e => e.UserId == user.Id).OrderByDescending(e => e.Id).Take(20).ToListAsync(ct);
        return Page();
    }

    public Task<IActionResult> OnPostDisableAsync(CancellationToken ct) => WithUserAsync(async user =>
        !Confirmed ? AskFirst(Text["Disable {0}?", user.UserName!], Text["The account cannot sign in, and every session it has is ended now."])
        : await accounts.SetDisabledAsync(user, true, Actor, ct) ? Done(Text["Disabled; the account's sessions are ended."]) : Refused(LastAdministrator));

    public Task<IActionResult> OnPostEnableAsync(CancellationToken ct) => WithUserAsync(async user =>
    {
        await accounts.SetDisabledAsync(user, false, Actor, ct);
        return Done(Text["Enabled."]);
    });

    public Task<IActionResult> OnPostAddRoleAsync(CancellationToken ct) => WithUserAsync(async user =>
    {
        if (Role is null || !Roles.All.Contains(Role))
        {
            return Refused(Text["No such role."]);
        }
        if (!Detail.Roles.Contains(Role))
        {
            await accounts.AddRoleAsync(user, Role, Actor, ct);
        }
        return Done(Text["Role {0} given.", Role]);
    });

    public Task<IActionResult> OnPostRemoveRoleAsync(CancellationToken ct) => WithUserAsync(async user =>
    {
        if (Role is null || !Detail.Roles.Contains(Role))
        {
            return Refused(Text["No such role."]);
        }
        if (!Confirmed)
        {
            return AskFirst(Text["Take the role {0} away from {1}?", Role, user.UserName!], Text["Whatever the role allows stops at the account's next request."], ("Role", Role));
        }
        return await accounts.RemoveRoleAsync(user, Role, Actor, ct) ? Done(Text["Role {0} taken away.", Role]) : Refused(LastAdministrator);
    });

    public Task<IActionResult> OnPostResetFactorsAsync(CancellationToken ct) => WithUserAsync(async user =>
    {
        if (!Confirmed)
        {
            return AskFirst(Text["Reset {0}'s second factors?", user.UserName!],
                Text["The authenticator app, the recovery codes and the passkeys are removed and the account's sessions end; the user signs in with the password alone and sets up a second factor again."]);
        }
        // The administrator's own cookie session survives a reset of their own factors; everyone else's ends.
        var keep = user.Id == User.UserId() ? User.SessionId() : null;
        await factors.RemoveAsync(user, "admin_console", keep, ClientInfo.From(HttpContext), passkeysToo: true, Actor, ct);
        return Done(Text["Second factors reset: the authenticator app, recovery codes and passkeys are removed."]);
    });

    public Task<IActionResult> OnPostRevokeSessionAsync(CancellationToken ct) => WithUserAsync(async user =>
        !Confirmed ? AskFirst(Text["End this session of {0}?", user.UserName!], Text["The device that holds it is signed out at its next request."], ("SessionId", SessionId.ToString()))
        : await admin.RevokeSessionAsync(user, SessionId, Actor, ClientInfo.IpOf(HttpContext), ct)
            ? Done(Text["Session ended."])
            : Refused(Text["That session has already ended."]));

    public Task<IActionResult> OnPostRevokeAllAsync(CancellationToken ct) => WithUserAsync(async user =>
    {
        if (!Confirmed)
        {
            return AskFirst(Text["End every session of {0}?", user.UserName!], Text["Every browser and device signed in as this account is signed out at its next request."]);
        }
        var ended = await admin.RevokeAllSessionsAsync(user, Actor, ClientInfo.IpOf(HttpContext), ct);
        return Done(Text["{0} session(s) ended.", ended]);
    });

    private string LastAdministrator => Text["Refused: that would leave no enabled administrator. Give another account the admin role first."];

    private async Task<IActionResult> WithUserAsync(Func<User, Task<IActionResult>> change)
    {
        if (await directory.FindAsync(Id) is not { } user)
        {
            return NotFound();
        }
        Detail = await directory.DetailAsync(user);
        return await change(user);
    }
}
