using System.Security.Claims;
using Countersign.Client;

namespace Countersign.Samples;

/// <summary>
/// The whole sample: every page needs a Countersign device with a grant for this service, except <c>/health</c>.
/// Configuration (environment <c>Countersign__ServerUrl</c>, <c>Countersign__Service</c>, <c>Countersign__ServiceToken</c>,
/// or the same keys on the command line) is bound to <see cref="CountersignAuthenticationOptions"/>.
/// </summary>
public static class ProtectedServiceApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var section = builder.Configuration.GetSection("Countersign");
        builder.Services.AddAuthentication(CountersignDefaults.AuthenticationScheme)
            .AddCountersign(options => section.Bind(options));
        // Every endpoint needs a signed-in device unless it says otherwise: a page added later is protected by default.
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/health", () => "ok").AllowAnonymous();
        app.MapGet("/", (ClaimsPrincipal user) => TypedResults.Ok(new Visitor(
            user.FindFirstValue(CountersignClaimTypes.Subject)!,
            user.FindFirstValue(CountersignClaimTypes.Device)!,
            user.Identity?.Name,
            [.. user.FindAll(ClaimTypes.Role).Select(c => c.Value)])));
        // An example of a role check on top of the grant (roles arrive for services added with --send-identity).
        app.MapGet("/admin", () => "admins only").RequireAuthorization(policy => policy.RequireRole("admin"));
        return app;
    }
}

/// <summary>What the sample shows a visitor about themselves.</summary>
public sealed record Visitor(string Subject, string Device, string? Name, string[] Roles);
