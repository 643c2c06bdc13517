using Countersign.Accounts;
using Countersign.Admin;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Pages.Admin;

/// <summary>Accounts: search by username prefix, keyset paging (UserDirectory), and creation with a one-time password.</summary>
public sealed class UsersModel(UserDirectory directory, AccountAdmin accounts) : AdminPageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)]
    public string? Search { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? After { get; set; }

    [BindProperty]
    public string? NewUsername { get; set; }

    [BindProperty]
    public string? NewEmail { get; set; }

    [BindProperty]
    public List<string> NewRoles { get; set; } = [];

    /// <summary>The account's language; the form offers the instance's first (<c>Accounts:DefaultLanguage</c>).</summary>
    [BindProperty]
    public string? NewLanguage { get; set; }

    public UserPage Listing { get; private set; } = new([], null);

    public async Task OnGetAsync(CancellationToken ct) => Listing = await directory.ListAsync(Search, After, PageSize, ct);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(NewUsername) || NewUsername.Length > 256 || (NewEmail?.Length ?? 0) > 256)
        {
            return Refused(Text["Give a username (and at most 256 characters of e-mail)."]);
        }
        var roles = NewRoles.Where(Roles.All.Contains).Distinct().ToList();
        // A value the form never offers is the instance's language, like a form posted without the field.
        var language = NewLanguage is { } chosen && Languages.Supported.Contains(chosen) ? chosen : null;
        var (user, password, result) = await accounts.CreateWithOneTimePasswordAsync(NewUsername, NewEmail, roles, Actor, Operations.ClientInfo.IpOf(HttpContext),
            language, ct);
        if (user is null)
        {
            return Refused(string.Join(" ", result.Errors.Select(e => e.Code == "DuplicateUserName" ? Text["That username is already taken."].Value : e.Description)));
        }
        // Shown once on the account's page (TempData is read once and is encrypted in its cookie), never stored in clear.
        TempData["OneTimePassword"] = password;
        Notice = Text["Created {0}.", user.UserName!];
        return Redirect($"/admin/users/{user.Id}");
    }
}
