using System.Security.Claims;
using Countersign.Accounts;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Totp;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.SignIn;

/// <summary>
/// <c>captcha</c> is the base64 payload of a solved proof-of-work challenge, when one is asked for;
/// <c>totp_code</c> or <c>recovery_code</c> is the second factor, when a 417 asked for one.
/// </summary>
/// <summary><c>new_password</c> is read only when the answer was 403 <c>password_change_required</c>: the password someone else chose is replaced by it.</summary>
public sealed record LoginRequest(string? Username, string? Password, string? Captcha = null, string? TotpCode = null, string? RecoveryCode = null,
    string? NewPassword = null);

/// <summary>One proof, <c>current_password</c> or a fresh <c>totp_code</c> or <c>recovery_code</c>, and the new password.</summary>
public sealed record ChangePasswordRequest(string? NewPassword, string? CurrentPassword = null, string? TotpCode = null, string? RecoveryCode = null,
    string? Captcha = null);

public sealed record MfaResetRequest(string? Username, string? Password, string? RecoveryCode, string? Captcha = null);

/// <summary>The API's ways in: the password login (with its 417 second step) and the MFA reset, both through <see cref="SignInCore"/>.</summary>
public static class SignInApi
{
    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Sessions");
        auth.MapPost("/login", Login)
            .ProducesProblems(400, 401, 403, 417, 423, 428, 429)
            .WithSummary("Sign in with a username and password (and a second factor when 417 asks for one); returns tokens. " +
                "400 wrong second factor, 403 password_change_required (send again with new_password), 423 locked, 428 proof of work needed, " +
                "429 rate limited.");
        app.MapPut("/api/me/password", ChangePassword).WithTags("Accounts").RequireAuthorization()
            .ProducesProblems(400, 423, 428, 429)
            .WithSummary("Change the password: current_password, or a fresh totp_code or recovery_code, first. Every other session " +
                "and device of the account is signed out; this one stays.");
        auth.MapPost("/mfa/reset", Reset).WithTags("Second factors")
            .ProducesProblems(400, 401, 423, 428, 429)
            .WithSummary("Turn TOTP off with the password and a recovery code, to enrol again (no e-mail needed).");
        return app;
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Login([FromBody] LoginRequest body, SignInCore signIn,
        AccountAdmin accounts, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.Username) || string.IsNullOrEmpty(body.Password))
        {
            return Problems.InvalidRequest("username and password are required.", Problems.Missing(("username", body.Username), ("password", body.Password)));
        }
        if (body.NewPassword is { } fresh && PolicyProblem(await accounts.CheckPasswordAsync(new User { UserName = UsernameValidator.IsPlausible(body.Username) ? body.Username : null }, fresh)) is { } refused)
        {
            // Judged on the name as typed, before any look-up: the answer is the same whether the account exists or not.
            return refused;
        }
        var outcome = await signIn.SignInAsync(new SignInAttempt
        {
            Channel = SessionKinds.Api,
            Client = ClientInfo.From(http),
            Username = body.Username,
            Password = body.Password,
            Captcha = body.Captcha,
            TotpCode = body.TotpCode,
            RecoveryCode = body.RecoveryCode,
            NewPassword = body.NewPassword,
        }, SessionKinds.Api, ct);
        if (!outcome.Succeeded)
        {
            return SignInProblems.For(outcome, http);
        }
        var t = outcome.Tokens!;
        return TypedResults.Ok(new TokenResponse(t.AccessToken, "Bearer", t.ExpiresIn, t.RefreshToken));
    }

    /// <summary>
    /// The seed's "reset MFA with a backup code": the password and a recovery code turn TOTP off. The same
    /// checks as sign-in (limits, proof of work, lockout, one generic failure); no session is started.
    /// An account without TOTP has nothing to reset, and fails like any other wrong attempt.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> Reset([FromBody] MfaResetRequest body, SignInCore signIn,
        SecondFactorAdmin factors, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.Username) || string.IsNullOrEmpty(body.Password) || string.IsNullOrEmpty(body.RecoveryCode))
        {
            return Problems.InvalidRequest("username, password and recovery_code are required.",
                Problems.Missing(("username", body.Username), ("password", body.Password), ("recovery_code", body.RecoveryCode)));
        }
        var client = ClientInfo.From(http);
        var outcome = await signIn.CheckAsync(new SignInAttempt
        {
            Channel = "mfa_reset",
            Client = client,
            Username = body.Username,
            Password = body.Password,
            RecoveryCode = body.RecoveryCode,
            Captcha = body.Captcha,
            Required = [Factors.Password, Factors.RecoveryCode],
        }, (account, ct) => factors.StageRemovalAsync(account.User, "recovery_code", keepSession: null, client, passkeysToo: false, ct), ct);
        return outcome.Succeeded ? TypedResults.NoContent() : SignInProblems.For(outcome, http);
    }

    /// <summary>
    /// The user's own change (ASVS 6.2.3: the current password, or here a fresh second factor, first). A wrong proof is a
    /// failed sign-in for the lockout and the audit; it answers 400 <c>invalid_proof</c>, not 401, which would read as "the
    /// token is no good".
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> ChangePassword([FromBody] ChangePasswordRequest body, ClaimsPrincipal principal,
        PasswordChange passwords, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.NewPassword))
        {
            return Problems.InvalidRequest("new_password is required.", Problems.Missing(("new_password", body.NewPassword)));
        }
        var result = await passwords.ChangeAsync(new PasswordChangeRequest
        {
            UserId = principal.UserId(),
            KeepSession = principal.SessionId(),
            CurrentPassword = body.CurrentPassword,
            TotpCode = body.TotpCode,
            RecoveryCode = body.RecoveryCode,
            Captcha = body.Captcha,
            NewPassword = body.NewPassword,
            Client = ClientInfo.From(http),
            Channel = SessionKinds.Api,
        }, ct);
        if (PolicyProblem(result.Policy) is { } refused)
        {
            return refused;
        }
        if (result.NoProof)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidProof, "Send current_password, or a totp_code or recovery_code.");
        }
        if (result.Changed)
        {
            return TypedResults.NoContent();
        }
        return result.Proof!.Status is SignInStatus.InvalidCredentials or SignInStatus.InvalidMfaCode
            ? Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidProof, "The current password or the code is not valid.")
            : SignInProblems.For(result.Proof, http);
    }

    /// <summary>A refused new password as registration answers it: <c>policy_violation</c> with every reason.</summary>
    internal static ProblemHttpResult? PolicyProblem(IdentityResult policy) => policy.Succeeded ? null
        : Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.PolicyViolation, "The new password does not meet the policy.",
            string.Join(" ", policy.Errors.Select(e => e.Description)),
            [new("errors", new Dictionary<string, string[]> { ["new_password"] = [.. policy.Errors.Select(e => e.Description)] }),
                new("codes", policy.Errors.Select(e => e.Code).ToArray())]);
}
