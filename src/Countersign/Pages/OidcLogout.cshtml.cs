using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Countersign.Pages;

/// <summary>
/// Asks before an application signs the user out without proving it is the one they signed in to (no <c>id_token_hint</c>;
/// OpenID Connect RP-Initiated Logout 1.0 §2), so that no third-party page can end a session with a link.
/// </summary>
public sealed class OidcLogoutModel : PageModel
{
    /// <summary>The end-session request's own parameters, posted back with the confirmation.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; private set; } = [];

    public void OnGet() =>
        Parameters = [.. Request.Query.Where(q => q.Key is "client_id" or "post_logout_redirect_uri" or "state" or "ui_locales")
            .Select(q => KeyValuePair.Create(q.Key, q.Value.ToString()))];
}
