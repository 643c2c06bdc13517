using Countersign.ForwardAuth;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Pages.Admin;

/// <summary>
/// Services behind forward auth and the grants that let a user reach them: the same <see cref="ServiceAdmin"/> that
/// <c>countersign services|grants</c> and <c>/api/admin/services|grants</c> call, so validation, the audit row (with the
/// administrator's name) and every node's cache invalidation are the service's, not the page's.
/// </summary>
public sealed class ServicesModel(ServiceAdmin admin) : AdminPageModel
{
    /// <summary>
    /// A new or rotated 256-bit token crosses the post/redirect/get in TempData, which is read once and then deleted
    /// (and travels in a Data Protection–encrypted cookie): a reload of the page does not show it again.
    /// </summary>
    private const string TokenKey = "ServiceToken";
    private const string TokenForKey = "ServiceTokenFor";

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? Host { get; set; }

    [BindProperty]
    public string? PathPrefix { get; set; }

    [BindProperty]
    public bool SendsIdentity { get; set; }

    /// <summary>Filters the grant list; also the grant form's fields.</summary>
    [BindProperty(SupportsGet = true)]
    public string? GrantUser { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? GrantService { get; set; }

    public List<ServiceSummary> Services { get; private set; } = [];

    public List<GrantSummary> Grants { get; private set; } = [];

    public string? Token { get; private set; }

    public string? TokenFor { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Token = TempData[TokenKey] as string;
        TokenFor = TempData[TokenForKey] as string;
        Services = await admin.ListAsync(ct);
        var user = Blank(GrantUser);
        var service = Blank(GrantService);
        Grants = await admin.ListGrantsAsync(user, service, ct);
    }

    public async Task<IActionResult> OnPostAddAsync(CancellationToken ct)
    {
        if (Over(Name, 64) || Over(Host, 300) || Over(PathPrefix, 512))
        {
            return Refused(Describe(ServiceError.InvalidName));
        }
        var (service, token, error) = await admin.AddAsync(Name?.Trim() ?? "", Host?.Trim() ?? "", Blank(PathPrefix), SendsIdentity, Actor, ct);
        if (service is null)
        {
            return Refused(Describe(error));
        }
        TempData[TokenKey] = token;
        TempData[TokenForKey] = service.Name;
        return Done(Text["Service {0} added.", service.Name]);
    }

    public async Task<IActionResult> OnPostRotateAsync(CancellationToken ct)
    {
        var name = Name?.Trim() ?? "";
        if (!Confirmed)
        {
            return AskFirst(Text["Give {0} a new token?", name], Text["The service's current token stops working at once: the service must be given the new one."], ("Name", name));
        }
        if (Over(name, 64) || await admin.RotateTokenAsync(name, Actor, ct) is not { } token)
        {
            return Refused(Describe(ServiceError.UnknownService));
        }
        TempData[TokenKey] = token;
        TempData[TokenForKey] = name;
        return Done(Text["{0} has a new token.", name]);
    }

    public async Task<IActionResult> OnPostRemoveAsync(CancellationToken ct)
    {
        var name = Name?.Trim() ?? "";
        if (!Confirmed)
        {
            return AskFirst(Text["Remove the service {0}?", name], Text["Its token stops working and every grant for it is removed; nobody reaches it through Countersign any more."], ("Name", name));
        }
        return !Over(name, 64) && await admin.RemoveAsync(name, Actor, ct) ? Done(Text["Service {0} removed.", name]) : Refused(Describe(ServiceError.UnknownService));
    }

    public async Task<IActionResult> OnPostGrantAsync(CancellationToken ct)
    {
        var (user, service) = (GrantUser?.Trim() ?? "", GrantService?.Trim() ?? "");
        if (Over(user, 256) || Over(service, 64))
        {
            return Refused(Describe(ServiceError.UnknownUser));
        }
        var error = await admin.GrantAsync(user, service, Actor, ct);
        return error == ServiceError.None ? Done(Text["{0} may now use {1}.", user, service]) : Refused(Describe(error));
    }

    public async Task<IActionResult> OnPostRevokeAsync(CancellationToken ct)
    {
        var (user, service) = (GrantUser?.Trim() ?? "", GrantService?.Trim() ?? "");
        if (!Confirmed)
        {
            return AskFirst(Text["Take away {0}'s grant for {1}?", user, service], Text["The user's next request to the service is refused."],
                ("GrantUser", user), ("GrantService", service));
        }
        if (Over(user, 256) || Over(service, 64))
        {
            return Refused(Describe(ServiceError.NoSuchGrant));
        }
        var error = await admin.RevokeGrantAsync(user, service, Actor, ct);
        return error == ServiceError.None ? Done(Text["{0} may no longer use {1}.", user, service]) : Refused(Describe(error));
    }

    // The grant form's fields are also the list's filter: after a change the page lists what was changed.
    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static bool Over(string? value, int max) => value is not null && value.Length > max;

    private string Describe(ServiceError error) => error switch
    {
        ServiceError.InvalidName => Text["A service name is 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."],
        ServiceError.InvalidHost => Text["The host must be a DNS name or address, optionally with :port (app.example.com)."],
        ServiceError.InvalidPathPrefix => Text["The path prefix must start with '/' and hold no '..', '%', ';', '?' or repeated slashes."],
        ServiceError.NameTaken => Text["A service has that name already."],
        ServiceError.PlaceTaken => Text["Another service is at that host and path prefix."],
        ServiceError.UnknownUser => Text["No account has that username."],
        ServiceError.AlreadyGranted => Text["That user may use that service already."],
        ServiceError.NoSuchGrant => Text["That user has no grant for that service."],
        _ => Text["No service has that name."],
    };
}
