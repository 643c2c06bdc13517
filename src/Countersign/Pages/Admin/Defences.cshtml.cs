using Countersign.Admin;
using Countersign.Defences;
using Countersign.Operations;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Pages.Admin;

/// <summary>
/// Defences: the usernames locked now and their unlock (LockoutAdmin), one username's lockout state, a client address's
/// state and its reset (AddressDefences, the seed's captcha_status/reset_captcha), and the TOTP clock-drift check (AdminUsers).
/// </summary>
public sealed class DefencesModel(UserDirectory directory, Lockout lockout, LockoutAdmin lockouts, AddressDefences addresses,
    AdminUsers admin, UserManager<Accounts.User> users, ILookupNormalizer normalizer) : AdminPageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Username { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Address { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public int Window { get; set; } = 3;

    public IReadOnlyList<LockedUsername> Locked { get; private set; } = [];

    public LockoutStatus? UsernameState { get; private set; }

    public AddressView? AddressState { get; private set; }

    public bool BadAddress { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Locked = (await directory.CountsAsync(ct)).LockedUsernames;
        if (!string.IsNullOrWhiteSpace(Username) && Username.Length <= 256)
        {
            UsernameState = await lockout.StatusAsync(normalizer.NormalizeName(Username.Trim())!);
        }
        if (!string.IsNullOrWhiteSpace(Address))
        {
            if (AddressDefences.Canonical(Address) is { } address)
            {
                AddressState = await addresses.StatusAsync(address);
            }
            else
            {
                BadAddress = true;
            }
        }
    }

    public async Task<IActionResult> OnPostUnlockAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(Username) || Username.Length > 256)
        {
            return Refused(Text["Give a username."]);
        }
        await lockouts.UnlockAsync(Username, Actor, ClientInfo.IpOf(HttpContext), ct);
        return Done(Text["Unlocked {0}.", Username.Trim()]);
    }

    public async Task<IActionResult> OnPostResetAddressAsync(CancellationToken ct)
    {
        if (AddressDefences.Canonical(Address) is not { } address)
        {
            return Refused(Text["That is not an IP address."]);
        }
        if (!Confirmed)
        {
            return AskFirst(Text["Reset the defences for {0}?", address],
                Text["Its recent failures are forgotten: no proof of work is asked and its rate-limit windows start afresh."], ("Address", address));
        }
        await addresses.ResetAsync(address, Actor, ClientInfo.IpOf(HttpContext), ct);
        return Done(Text["Reset {0}: no proof of work, fresh rate-limit windows.", address]);
    }

    public async Task<IActionResult> OnPostDriftAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(Username) || Username.Length > 256 || string.IsNullOrWhiteSpace(Code) || Code.Length > 16
            || Window is < 0 or > AdminUsers.MaxDriftWindow)
        {
            return Refused(Text["Give a username, the six digits and a window of 0 to 10 steps."]);
        }
        if (await users.FindByNameAsync(Username.Trim()) is not { } user)
        {
            return Refused(Text["No such account."]);
        }
        var (enrolled, offset) = await admin.DriftAsync(user, Code, Window, Actor, ClientInfo.IpOf(HttpContext), ct);
        if (!enrolled)
        {
            return Refused(Text["{0} has no active authenticator app.", user.UserName!]);
        }
        return offset is { } o
            ? Done(Text["The code matches {0} step(s) ({1} s) from the server's clock; it was not spent.", o.ToString("+0;-0;0", System.Globalization.CultureInfo.InvariantCulture), (o * Totp.Rfc6238.Period).ToString("+0;-0;0", System.Globalization.CultureInfo.InvariantCulture)])
            : Refused(Text["The code matches no step within ±{0} ({1} s).", Window, Window * Totp.Rfc6238.Period]);
    }
}
