using System.Globalization;
using System.Security.Claims;
using Countersign.Operations;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.Routing;

namespace Countersign.Admin;

/// <summary>
/// Step-up re-authentication (ASVS V6 and 7.5.x: re-authenticate before sensitive changes). The cookie session carries
/// <c>auth_time</c> (the sign-in) and, after <c>/reauth</c>, <c>reauth_time</c>; a change in the admin console needs the
/// later of the two within <see cref="Window"/>. Every POST under <c>/admin</c> (pages whose model carries <see cref="RequireRecentAuthenticationAttribute"/>) passes the
/// <see cref="Policies.RecentAuthentication"/> requirement or is sent to <c>/reauth?returnUrl=</c> first; reading stays possible with an older session.
/// </summary>
public static class StepUp
{
    public const string ReauthTimeClaim = "reauth_time";

    /// <summary>ASVS V6 (issue 16): a password, TOTP code or passkey in the last 10 minutes.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    internal static void AddStepUp(IServiceCollection services)
    {
        services.AddSingleton<IAuthorizationHandler, RecentAuthenticationHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.AdminConsole, p => p.AddAuthenticationSchemes(CookieAuthenticationDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser().RequireRole(Accounts.Roles.Admin))
            .AddPolicy(Policies.RecentAuthentication, p => p.AddAuthenticationSchemes(CookieAuthenticationDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser().AddRequirements(new RecentAuthenticationRequirement(Window)));
    }

    /// <summary>When the user last proved who they are: the later of the sign-in and the last re-authentication.</summary>
    public static DateTimeOffset? LastAuthenticated(ClaimsPrincipal principal)
    {
        DateTimeOffset? latest = null;
        foreach (var claim in principal.FindAll(c => c.Type is "auth_time" or ReauthTimeClaim))
        {
            if (long.TryParse(claim.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                var at = DateTimeOffset.FromUnixTimeSeconds(seconds);
                latest = latest is { } l && l > at ? l : at;
            }
        }
        return latest;
    }

    /// <summary>The same session (its <c>sid</c> and every claim) with a fresh <c>reauth_time</c> and the factor that proved it.</summary>
    public static ClaimsPrincipal Refreshed(ClaimsPrincipal principal, DateTimeOffset now, string factor)
    {
        var claims = principal.Claims.Where(c => c.Type != ReauthTimeClaim).Select(c => new Claim(c.Type, c.Value, c.ValueType)).ToList();
        claims.Add(new(ReauthTimeClaim, now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));
        if (!claims.Any(c => c.Type == "amr" && c.Value == factor))
        {
            claims.Add(new("amr", factor));
        }
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme, "name", "roles"));
    }

    /// <summary>
    /// Where to send a stale session: <c>/reauth</c>, back to a local URL only (no open redirect). "Local" is the
    /// framework's own test (<see cref="IUrlHelper.IsLocalUrl"/>: one leading slash, not <c>//host</c> or <c>/\host</c>, or
    /// <c>~/</c>), the one <c>LocalRedirect</c> enforces; a copy of it here had drifted once already.
    /// </summary>
    public static string ReauthUrl(IUrlHelper url, string? returnUrl) =>
        "/reauth?returnUrl=" + Uri.EscapeDataString(url.IsLocalUrl(returnUrl) && returnUrl!.Length <= 2048 ? returnUrl : "/admin");
}

public sealed record RecentAuthenticationRequirement(TimeSpan Window) : IAuthorizationRequirement;

internal sealed class RecentAuthenticationHandler(TimeProvider time) : AuthorizationHandler<RecentAuthenticationRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RecentAuthenticationRequirement requirement)
    {
        if (StepUp.LastAuthenticated(context.User) is { } at && time.GetUtcNow() - at <= requirement.Window)
        {
            context.Succeed(requirement);
        }
        return Task.CompletedTask;
    }
}

/// <summary>
/// On a page model: every state-changing request to the page needs a recent authentication; reads do not. The admin
/// console's base page model carries it, so every console page inherits it (with the admin policy beside it).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class RequireRecentAuthenticationAttribute : Attribute, IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var http = context.HttpContext;
        if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
        {
            var authorization = http.RequestServices.GetRequiredService<IAuthorizationService>();
            if (!(await authorization.AuthorizeAsync(http.User, Policies.RecentAuthentication)).Succeeded)
            {
                // Back to the page the form was on (GET), never replaying the POST itself.
                var query = QueryString.Create(http.Request.Query.Where(q => q.Key != "handler")
                    .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v))));
                var url = http.RequestServices.GetRequiredService<IUrlHelperFactory>().GetUrlHelper(context);
                context.Result = new RedirectResult(StepUp.ReauthUrl(url, http.Request.Path + query.ToUriComponent()));
                return;
            }
        }
        await next();
    }
}
