using System.Globalization;
using Countersign.Operations;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Countersign.SignIn;

/// <summary>
/// The one map from a refused sign-in to HTTP, for every API route that signs someone in: the status, the
/// <c>Retry-After</c> header, and a problem body with the stable <c>error</c> code and, for 423 and 428, a
/// proof-of-work challenge (docs/errors.md). The pages have theirs in Pages/SignInPageText.cs.
/// </summary>
public static class SignInProblems
{
    public static ProblemHttpResult For(SignInOutcome outcome, HttpContext http) => outcome.Status switch
    {
        SignInStatus.MfaRequired => Problems.Of(StatusCodes.Status417ExpectationFailed, ErrorCodes.MfaRequired,
            "A second factor is needed: send the password again with totp_code or recovery_code.",
            extensions: [new("methods", outcome.Methods)]),
        SignInStatus.InvalidMfaCode => Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidMfaCode, "The code is not valid."),
        SignInStatus.AccountLocked => WithRetryAfter(http, outcome, Problems.Of(StatusCodes.Status423Locked, ErrorCodes.AccountLocked,
            "Too many failed attempts for this username. Wait, or solve the proof-of-work challenge and try again.",
            extensions: [new("retry_after_seconds", Seconds(outcome.RetryAfter)), new("captcha", outcome.Challenge)])),
        SignInStatus.CaptchaRequired => Problems.Of(StatusCodes.Status428PreconditionRequired, ErrorCodes.CaptchaRequired,
            "Solve the proof-of-work challenge and send the solution in captcha.",
            extensions: [new("captcha", outcome.Challenge)]),
        SignInStatus.RateLimited => WithRetryAfter(http, outcome, Problems.Of(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited,
            "Too many requests; try again later.", extensions: [new("retry_after_seconds", Seconds(outcome.RetryAfter))])),
        SignInStatus.PasswordChangeRequired => Problems.Of(StatusCodes.Status403Forbidden, ErrorCodes.PasswordChangeRequired,
            "This account's password was chosen by someone else: send the sign-in again with new_password to replace it."),
        SignInStatus.Succeeded => throw new ArgumentException("A successful sign-in is not a problem.", nameof(outcome)),
        _ => Problems.InvalidCredentials(),
    };

    /// <summary>Whole seconds, at least one (RFC 9110 §10.2.3).</summary>
    public static int Seconds(TimeSpan? wait) => Math.Max(1, (int)Math.Ceiling((wait ?? TimeSpan.Zero).TotalSeconds));

    private static ProblemHttpResult WithRetryAfter(HttpContext http, SignInOutcome outcome, ProblemHttpResult problem)
    {
        http.Response.Headers.RetryAfter = Seconds(outcome.RetryAfter).ToString(CultureInfo.InvariantCulture);
        return problem;
    }
}
