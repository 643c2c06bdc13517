using Countersign.Oidc;
using Countersign.Operations;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

/// <summary>
/// The consent page of a third-party application (OIDC Core §3.1.2.4): what it asks for, once per user and scope set.
/// What is shown is exactly what is recorded; the authorize endpoint then checks the consent again.
/// </summary>
[Authorize(Policy = Policies.BrowserSession)]
public sealed class ConsentModel(OidcClients clients, OidcFormTargets formTargets) : PageModel
{
    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        await formTargets.AllowClientOfAsync(HttpContext, ReturnUrl);
        await next();
    }

    [BindProperty(SupportsGet = true, Name = "client_id")]
    public string? ClientId { get; set; }

    [BindProperty(SupportsGet = true, Name = "scope")]
    public string? Scope { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string ApplicationName { get; private set; } = "";

    public IReadOnlyList<string> Scopes => (Scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => await LoadAsync(ct) ? Page() : BadRequest();

    public async Task<IActionResult> OnPostAcceptAsync(CancellationToken ct)
    {
        if (!await LoadAsync(ct) || !await clients.GrantConsentAsync(User.UserId(), ClientId!, Scopes, ClientInfo.IpOf(HttpContext), ct))
        {
            return BadRequest();
        }
        return LocalRedirect(ReturnUrl!);
    }

    public async Task<IActionResult> OnPostDenyAsync(CancellationToken ct) =>
        await LoadAsync(ct) ? LocalRedirect(ReturnUrl + "&" + OidcEndpoints.ConsentDenied + "=denied") : BadRequest();

    /// <summary>Only back to our own authorize endpoint, and only for a client that exists and asks for consent.</summary>
    private async Task<bool> LoadAsync(CancellationToken ct)
    {
        if (ReturnUrl is not { } back || !back.StartsWith("/connect/authorize?", StringComparison.Ordinal) || !Url.IsLocalUrl(back)
            || Scopes.Any(s => !OidcClients.ScopeDescriptions.ContainsKey(s))
            || await clients.ConsentNameAsync(ClientId, ct) is not { } name)
        {
            return false;
        }
        ApplicationName = name;
        return true;
    }
}
