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

public sealed record RemoveTotpRequest(string? Password = null, string? Code = null);

public sealed record RecoveryCodesView(IReadOnlyList<string> RecoveryCodes);

public sealed record RecoveryStatus(bool TotpEnabled, int RecoveryCodesRemaining);

public sealed record MfaResetRequest(string? Username, string? Password, string? RecoveryCode);

public sealed record ServerTime(DateTimeOffset Utc, long Step, int Period);

public static class TotpApi
{
    public static IEndpointRouteBuilder MapTotp(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/api/me").WithTags("Second factors").RequireAuthorization();
        me.MapPost("/totp", Start).RateLimited(RateLimitedRoute.Enrolment)
            .ProducesProblems(404, 409, 429)
            .WithSummary("Start authenticator-app enrolment: secret, otpauth URI and QR code. Nothing is active until confirmed.");
        me.MapPost("/totp/confirm", Confirm).RateLimited(RateLimitedRoute.SecondFactor)
            .ProducesProblems(400, 429)
            .WithSummary("Confirm enrolment with a code; returns 10 recovery codes, shown once.");
        me.MapDelete("/totp", Remove).RateLimited(RateLimitedRoute.SecondFactor)
            .ProducesProblems(400, 429)
            .WithSummary("Turn the authenticator off; needs the password or a current code.");
        me.MapGet("/recovery-codes", Status).WithSummary("Whether TOTP is on and how many recovery codes remain.");
        me.MapPost("/recovery-codes", Regenerate).RateLimited(RateLimitedRoute.Enrolment)
            .ProducesProblems(409, 429)
            .WithSummary("Replace the recovery codes with a new set, shown once.");
        app.MapPost("/api/auth/mfa/reset", Reset).RateLimited(RateLimitedRoute.SecondFactor).WithTags("Second factors")
            .ProducesProblems(400, 401, 423, 428, 429)
            .WithSummary("Turn TOTP off with the password and a recovery code, to enrol again (no e-mail needed).");
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
            return Problems.Of(StatusCodes.Status404NotFound, "not_found", "The account no longer exists.");
        }
        return await totp.StartAsync(user, ct) is { } enrolment
            ? TypedResults.Ok(enrolment)
            : Problems.Of(StatusCodes.Status409Conflict, "totp_already_enabled", "An authenticator is already active; remove it first.");
    }

    private static async Task<Results<Ok<RecoveryCodesView>, ProblemHttpResult>> Confirm([FromBody] CodeRequest body, ClaimsPrincipal principal,
        SecondFactorAdmin admin, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Code))
        {
            return Problems.InvalidRequest("code is required.", SessionsApi.Missing(("code", body.Code)));
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
            return Problems.Of(StatusCodes.Status400BadRequest, "invalid_proof", "Give the account's password or a current code.");
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
            ? Problems.Of(StatusCodes.Status409Conflict, "totp_not_enabled", "Recovery codes come with an active authenticator.")
            : TypedResults.Ok(new RecoveryCodesView(codes));
    }

    /// <summary>MFA reset with a recovery code (docs/security.md, Second factors): password and a recovery code turn TOTP off.</summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> Reset([FromBody] MfaResetRequest body, PasswordLogin login,
        SecondFactorAdmin admin, UserManager<User> users, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.Username) || string.IsNullOrEmpty(body.Password) || string.IsNullOrEmpty(body.RecoveryCode))
        {
            return Problems.InvalidRequest("username, password and recovery_code are required.",
                SessionsApi.Missing(("username", body.Username), ("password", body.Password), ("recovery_code", body.RecoveryCode)));
        }
        // The same pipeline as sign-in, so the reset gets lockout, proof of work and one generic failure.
        var result = await login.SignInAsync(new LoginAttempt(body.Username, body.Password, RecoveryCode: body.RecoveryCode), SessionKinds.Api,
            ClientInfo.From(http), ct);
        switch (result.Outcome)
        {
            case LoginOutcome.Succeeded:
                await admin.RemoveAsync(result.User!, "recovery_code", keepSession: null, ClientInfo.From(http), ct: ct);
                return TypedResults.NoContent();
            case LoginOutcome.InvalidSecondFactor:
                return InvalidCode();
            case LoginOutcome.Locked:
                return Problems.Of(StatusCodes.Status423Locked, "account_locked", "Too many failed attempts for this username.");
            case LoginOutcome.CaptchaRequired:
                return Problems.Of(StatusCodes.Status428PreconditionRequired, "captcha_required", "Solve a proof-of-work challenge first.");
            default:
                return Problems.InvalidCredentials();
        }
    }

    private static ProblemHttpResult InvalidCode() => Problems.Of(StatusCodes.Status400BadRequest, "invalid_mfa_code", "The code is not valid.");
}

/// <summary>
/// Changes to a user's second factors, each audited in its transaction, each ending the user's other
/// sessions (ASVS 7.4.3: after a factor changes, sessions elsewhere may belong to whoever had the old one).
/// </summary>
public sealed class SecondFactorAdmin(CountersignDb db, TotpService totp, RecoveryCodes recoveryCodes, SessionService sessions, AuditLog audit)
{
    public async Task<IReadOnlyList<string>?> ConfirmAsync(Guid userId, string? username, string code, Guid? keepSession, ClientInfo client,
        CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (!await totp.ConfirmAsync(userId, code, ct))
        {
            return null;
        }
        var codes = await recoveryCodes.RegenerateAsync(userId, ct);
        await sessions.RevokeOthersAsync(userId, keepSession, "factor_changed", ct);
        await audit.RecordAsync(db, new(AuditActions.TotpEnabled, userId, username, client.Ip, null), ct);
        await tx.CommitAsync(ct);
        return codes;
    }

    /// <summary>Turns TOTP and the recovery codes off; with <paramref name="passkeysToo"/> (an admin's reset) the passkeys go as well.</summary>
    public async Task RemoveAsync(User user, string how, Guid? keepSession, ClientInfo client, bool passkeysToo = false, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await totp.RemoveAsync(user.Id, ct);
        await recoveryCodes.RemoveAllAsync(user.Id, ct);
        if (passkeysToo)
        {
            await db.UserPasskeys.Where(p => p.UserId == user.Id).ExecuteDeleteAsync(ct);
        }
        await sessions.RevokeOthersAsync(user.Id, keepSession, "factor_changed", ct);
        await audit.RecordAsync(db, new(AuditActions.TotpDisabled, user.Id, user.UserName, client.Ip, SessionService.Detail(new { how, passkeys_removed = passkeysToo })), ct);
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<string>?> RegenerateRecoveryCodesAsync(Guid userId, string? username, ClientInfo client, CancellationToken ct = default)
    {
        if (!await totp.IsEnabledAsync(userId, ct))
        {
            return null;
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var codes = await recoveryCodes.RegenerateAsync(userId, ct);
        await audit.RecordAsync(db, new(AuditActions.RecoveryCodesRegenerated, userId, username, client.Ip, null), ct);
        await tx.CommitAsync(ct);
        return codes;
    }
}

public static class TotpSetup
{
    public static IHostApplicationBuilder AddTotp(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TotpOptions>().BindValidated(TotpOptions.Section);
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<TotpOptions>, TotpOptionsValidator>();
        builder.Services.AddScoped<TotpService>();
        builder.Services.AddScoped<RecoveryCodes>();
        builder.Services.AddScoped<SecondFactorAdmin>();
        return builder;
    }
}
