using System.Security.Claims;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Totp;

public sealed record CodeRequest(string? Code);

public sealed record RemoveTotpRequest(string? Password, string? Code);

public sealed record RecoveryCodesView(IReadOnlyList<string> RecoveryCodes);

public sealed record RecoveryStatus(bool TotpEnabled, int RecoveryCodesRemaining);

public sealed record ServerTime(DateTimeOffset Utc, long Step, int Period);

public static class TotpApi
{
    public static IEndpointRouteBuilder MapTotp(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/api/me").WithTags("Second factors").RequireAuthorization();
        me.MapPost("/totp", Start).RateLimited(RateLimitedRoute.Enrolment)
            .WithSummary("Start authenticator-app enrolment: secret, otpauth URI and QR code. Nothing is active until confirmed.");
        me.MapPost("/totp/confirm", Confirm).RateLimited(RateLimitedRoute.SecondFactor)
            .WithSummary("Confirm enrolment with a code; returns 10 recovery codes, shown once.");
        me.MapDelete("/totp", Remove).RateLimited(RateLimitedRoute.SecondFactor)
            .WithSummary("Turn the authenticator off; needs the password or a current code.");
        me.MapGet("/recovery-codes", Status).WithSummary("Whether TOTP is on and how many recovery codes remain.");
        me.MapPost("/recovery-codes", Regenerate).RateLimited(RateLimitedRoute.Enrolment)
            .WithSummary("Replace the recovery codes with a new set, shown once.");
        app.MapGet("/api/admin/time", (TimeProvider time) =>
        {
            var now = time.GetUtcNow();
            return TypedResults.Ok(new ServerTime(now, Rfc6238.StepAt(now), Rfc6238.Period));
        }).WithTags("Second factors").RequireAuthorization(Policies.Admin).WithSummary("Server time and TOTP step, to diagnose clock drift.");
        return app;
    }

    private static async Task<Results<Ok<TotpEnrolment>, ProblemHttpResult>> Start(ClaimsPrincipal principal, UserManager<User> users, TotpService totp,
        CancellationToken ct)
    {
        var user = await users.FindByIdAsync(principal.UserId().ToString());
        if (user is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, ErrorCodes.NotFound, "The account no longer exists.");
        }
        return await totp.StartAsync(user, ct) is { } enrolment
            ? TypedResults.Ok(enrolment)
            : Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.TotpAlreadyEnabled, "An authenticator is already active; remove it first.");
    }

    private static async Task<Results<Ok<RecoveryCodesView>, ProblemHttpResult>> Confirm([FromBody] CodeRequest body, ClaimsPrincipal principal,
        SecondFactorAdmin admin, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Code))
        {
            return Problems.InvalidRequest("code is required.", Problems.Missing(("code", body.Code)));
        }
        var codes = await admin.ConfirmAsync(principal.UserId(), principal.Identity?.Name, body.Code, principal.SessionId(), ClientInfo.From(http), ct);
        return codes is null ? InvalidCode() : TypedResults.Ok(new RecoveryCodesView(codes));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Remove([FromBody] RemoveTotpRequest body, ClaimsPrincipal principal,
        UserManager<User> users, TotpService totp, SecondFactorAdmin admin, HttpContext http, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(principal.UserId().ToString());
        // ASVS 7.5.1: changing an authentication factor needs proof of one the user already has.
        var proven = user is not null && (
            (body.Password is { Length: > 0 } password && await users.CheckPasswordAsync(user, password))
            || (body.Code is { Length: > 0 } code && await totp.VerifyAsync(user.Id, code, ct)));
        if (!proven)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidProof, "Give the account's password or a current code.");
        }
        await admin.RemoveAsync(user!, "self", principal.SessionId(), ClientInfo.From(http), ct: ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<RecoveryStatus>> Status(ClaimsPrincipal principal, TotpService totp, RecoveryCodes codes, CancellationToken ct) =>
        TypedResults.Ok(new RecoveryStatus(await totp.IsEnabledAsync(principal.UserId(), ct), await codes.RemainingAsync(principal.UserId(), ct)));

    private static async Task<Results<Ok<RecoveryCodesView>, ProblemHttpResult>> Regenerate(ClaimsPrincipal principal, SecondFactorAdmin admin,
        HttpContext http, CancellationToken ct)
    {
        var codes = await admin.RegenerateRecoveryCodesAsync(principal.UserId(), principal.Identity?.Name, ClientInfo.From(http), ct);
        return codes is null
            ? Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.TotpNotEnabled, "Recovery codes come with an active authenticator.")
            : TypedResults.Ok(new RecoveryCodesView(codes));
    }

    private static ProblemHttpResult InvalidCode() => Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidMfaCode, "The code is not valid.");
}
