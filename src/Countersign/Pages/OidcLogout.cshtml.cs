using Countersign.Oidc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OpenIddict.Abstractions;

namespace Countersign.Pages;

/// <summary>
/// Asks before an application signs the user out without proving it is the one they signed in to (no <c>id_token_hint</c>;
/// OpenID Connect RP-Initiated Logout 1.0 §2), so that no third-party page can end a session with a link.
/// </summary>
public sealed class OidcLogoutModel(IOpenIddictApplicationManager applications) : PageModel
{
    /// <summary>The end-session request's own parameters, posted back with the confirmation.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        Parameters = [.. Request.Query.Where(q => q.Key is "client_id" or "post_logout_redirect_uri" or "state" or "ui_locales")
            .Select(q => KeyValuePair.Create(q.Key, q.Value.ToString()))];
        // The confirmation's redirect back to the application is allowed only to an address that client registered.
        if (Request.Query["post_logout_redirect_uri"].ToString() is { Length: > 0 } back && Uri.TryCreate(back, UriKind.Absolute, out var target)
            && Request.Query["client_id"].ToString() is { Length: > 0 } clientId
            && await applications.FindByClientIdAsync(clientId, ct) is { } application
            && await applications.ValidatePostLogoutRedirectUriAsync(application, back, ct))
        {
            OidcFormTargets.AllowFormTarget(HttpContext, target);
        }
    }
}
