using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Totp;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.SignIn;

/// <summary>
/// <c>captcha</c> is the base64 payload of a solved proof-of-work challenge, when one is asked for;
/// <c>totp_code</c> or <c>recovery_code</c> is the second factor, when a 417 asked for one.
/// </summary>
public sealed record LoginRequest(string? Username, string? Password, string? Captcha = null, string? TotpCode = null, string? RecoveryCode = null);

public sealed record MfaResetRequest(string? Username, string? Password, string? RecoveryCode, string? Captcha = null);

/// <summary>The API's ways in: the password login (with its 417 second step) and the MFA reset, both through <see cref="SignInCore"/>.</summary>
public static class SignInApi
{
    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Sessions");
        auth.MapPost("/login", Login)
            .WithSummary("Sign in with a username and password (and a second factor when 417 asks for one); returns tokens. " +
                "400 wrong second factor, 423 locked, 428 proof of work needed, 429 rate limited.");
        auth.MapPost("/mfa/reset", Reset).WithTags("Second factors")
            .WithSummary("Turn TOTP off with the password and a recovery code, to enrol again (no e-mail needed).");
        return app;
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Login([FromBody] LoginRequest body, SignInCore signIn, HttpContext http,
        CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.Username) || string.IsNullOrEmpty(body.Password))
        {
            return Problems.InvalidRequest("username and password are required.", Problems.Missing(("username", body.Username), ("password", body.Password)));
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
}
