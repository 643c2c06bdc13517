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
        var addresses = app.MapGroup("/api/admin/addresses").WithTags("Defences").RequireAuthorization(Policies.Admin);
        addresses.MapGet("/{ip}", ShowAddress).ProducesProblems(400)
            .WithSummary("A client address's recent failures, whether it must solve a proof of work, and its rate-limit counts.");
        addresses.MapDelete("/{ip}", ResetAddress).ProducesProblems(400)
            .WithSummary("Forget a client address's failures and rate-limit windows (audited).");
        return app;
    }

    private static async Task<Ok<LockoutView>> Show(string username, Lockout lockout, ILookupNormalizer normalizer)
    {
        var status = await lockout.StatusAsync(normalizer.NormalizeName(username)!);
        return TypedResults.Ok(new LockoutView(username, status.FailedCount, status.LockedUntil, status.RemainingAttempts));
    }

    private static async Task<NoContent> Unlock(string username, LockoutAdmin admin, HttpContext http, CancellationToken ct)
    {
        // Sign-in refuses such a name before it is counted, so it holds no lock; and its audit row would not fit (the fuzzer's 500).
        if (username.Length > 256)
        {
            return TypedResults.NoContent();
        }
        await admin.UnlockAsync(username, http.User.Identity?.Name, ClientInfo.IpOf(http), ct);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult InvalidAddress() =>
        Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidAddress, "That is not an IP address.");

    private static async Task<Results<Ok<AddressView>, ProblemHttpResult>> ShowAddress(string ip, AddressDefences addresses) =>
        AddressDefences.Canonical(ip) is { } address ? TypedResults.Ok(await addresses.StatusAsync(address)) : InvalidAddress();

    private static async Task<Results<NoContent, ProblemHttpResult>> ResetAddress(string ip, AddressDefences addresses, HttpContext http,
        CancellationToken ct)
    {
        if (AddressDefences.Canonical(ip) is not { } address)
        {
            return InvalidAddress();
        }
        await addresses.ResetAsync(address, http.User.Identity?.Name, ClientInfo.IpOf(http), ct);
        return TypedResults.NoContent();
    }
}
