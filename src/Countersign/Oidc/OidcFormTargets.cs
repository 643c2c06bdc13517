using Microsoft.AspNetCore;
using Microsoft.Net.Http.Headers;
using OpenIddict.Abstractions;

namespace Countersign.Oidc;

/// <summary>
/// Our CSP says <c>form-action 'self'</c> and <c>script-src 'self'</c>, and browsers enforce <c>form-action</c> on every
/// redirect a form submission leads to (CSP Level 3 §6.4.1). Two protocol responses need a narrow exception, and get it
/// only for the one origin OpenIddict has just validated against the client's registration:
/// <list type="bullet">
/// <item>the <c>form_post</c> response mode (OAuth 2.0 Form Post Response Mode), a page whose form posts the code to the
/// client's redirect URI and whose one inline script submits it (allowed by its hash, not by <c>'unsafe-inline'</c>);</item>
/// <item>a redirect to the client after a form of ours: signing in or consenting for an application (its registered redirect
/// origins, <see cref="AllowClientOfAsync"/>), the logout confirmation (the validated post-logout URI, <see cref="AllowFormTarget"/>).</item>
/// </list>
/// </summary>
public sealed class OidcFormTargets(IOpenIddictApplicationManager applications)
{
    /// <summary>SHA-256 of OpenIddict 7.8's auto-submit script (<c>document.forms[0].submit()</c>); the browser test fails if it changes.</summary>
    private const string FormPostScriptHash = "'sha256-j7OoGArf6XW6YY4cAyS3riSSvrJRqpSi1fOF9vQ5SrI='";

    private const string TargetItem = "countersign.form-target";

    private static readonly PathString[] WidenedPaths = ["/connect/authorize", "/login", "/consent", "/connect/logout/confirm"];

    /// <summary>
    /// Early in the pipeline, so that its response callback runs after the security headers' own (callbacks run last
    /// registered first) and finds the policy to widen.
    /// </summary>
    internal static Task Middleware(HttpContext http, RequestDelegate next)
    {
        // Only the pages and endpoint that can widen the policy pay for the response callback.
        if (!WidenedPaths.Any(p => http.Request.Path.StartsWithSegments(p)))
        {
            return next(http);
        }
        http.Response.OnStarting(() =>
        {
            if (http.Items[TargetItem] is IReadOnlyList<Uri> targets)
            {
                Widen(http, targets, script: null);
            }
            else if (http.Request.Path.StartsWithSegments("/connect/authorize")
                && http.Response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true
                && http.GetOpenIddictServerRequest()?.RedirectUri is { } redirect && Uri.TryCreate(redirect, UriKind.Absolute, out var client))
            {
                Widen(http, [client], FormPostScriptHash);
            }
            return Task.CompletedTask;
        });
        return next(http);
    }

    /// <summary>Lets this response's forms lead to <paramref name="target"/>'s origin (a validated client URI only).</summary>
    public static void AllowFormTarget(HttpContext http, Uri target) => http.Items[TargetItem] = new[] { target };

    /// <summary>
    /// For a page whose return URL is our authorize endpoint: the origins the named client registered as redirect URIs (any
    /// of them, since a pushed request's own URI is not in the query). Only what an administrator registered is ever added.
    /// </summary>
    public async Task AllowClientOfAsync(HttpContext http, string? returnUrl)
    {
        if (returnUrl is null || !returnUrl.StartsWith("/connect/authorize?", StringComparison.Ordinal))
        {
            return;
        }
        var clientId = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(returnUrl[returnUrl.IndexOf('?', StringComparison.Ordinal)..])["client_id"].ToString();
        if (clientId.Length == 0 || clientId.Length > 64 || await applications.FindByClientIdAsync(clientId, http.RequestAborted) is not { } application)
        {
            return;
        }
        http.Items[TargetItem] = (await applications.GetRedirectUrisAsync(application, http.RequestAborted))
            .Select(u => new Uri(u)).ToList();
    }

    private static void Widen(HttpContext http, IEnumerable<Uri> targets, string? script)
    {
        var csp = http.Response.Headers[HeaderNames.ContentSecurityPolicy].ToString();
        if (csp.Length == 0)
        {
            return;
        }
        var origins = string.Join(' ', targets.Select(t => t.GetLeftPart(UriPartial.Authority)).Distinct(StringComparer.Ordinal));
        csp = csp.Replace("form-action 'self'", $"form-action 'self' {origins}", StringComparison.Ordinal);
        if (script is not null)
        {
            csp = csp.Replace("script-src 'self'", $"script-src 'self' {script}", StringComparison.Ordinal);
        }
        http.Response.Headers[HeaderNames.ContentSecurityPolicy] = csp;
    }
}
