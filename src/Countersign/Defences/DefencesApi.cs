using Countersign.Audit;
using Countersign.Operations;
using Countersign.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Countersign.Defences;

public sealed record LockoutView(string Username, int FailedCount, DateTimeOffset? LockedUntil, int RemainingAttempts);

public static class DefencesApi
{
    public static IEndpointRouteBuilder MapDefences(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/captcha/challenge", (Captcha captcha) => TypedResults.Ok(captcha.Create()))
            .WithTags("Defences").WithSummary("A signed proof-of-work challenge (ALTCHA format).");
        var admin = app.MapGroup("/api/admin/lockouts").WithTags("Defences").RequireAuthorization(Policies.Admin);
        admin.MapGet("/{username}", Show).WithSummary("A username's failed attempts and lock, whether or not the account exists.");
        admin.MapDelete("/{username}", Unlock).WithSummary("Clear a username's failed attempts and lock.");
        return app;
    }

    private static async Task<Ok<LockoutView>> Show(string username, Lockout lockout, ILookupNormalizer normalizer)
    {
        var status = await lockout.StatusAsync(normalizer.NormalizeName(username)!);
        return TypedResults.Ok(new LockoutView(username, status.FailedCount, status.LockedUntil, status.RemainingAttempts));
    }

    private static async Task<NoContent> Unlock(string username, LockoutAdmin admin, HttpContext http, CancellationToken ct)
    {
        await admin.UnlockAsync(username, http.User.Identity?.Name, ClientInfo.IpOf(http), ct);
        return TypedResults.NoContent();
    }
}
