using Countersign.SignIn;

namespace Countersign.Pages;

/// <summary>
/// The one map from a refused sign-in to what the sign-in page shows: the status, the message, and whether
/// a proof-of-work challenge goes with it. The API's map is SignIn/SignInProblems.cs.
/// </summary>
public static class SignInPageText
{
    public const string InvalidCredentials = "The username or password is incorrect.";

    public sealed record Refusal(int Status, string Message, bool Challenge, TimeSpan? RetryAfter);

    public static Refusal For(SignInOutcome outcome) => outcome.Status switch
    {
        SignInStatus.AccountLocked => new(StatusCodes.Status423Locked,
            $"This username is locked for {Describe(outcome.RetryAfter)} more, after too many failed attempts. Wait until then, or let the check below finish and sign in again.",
            true, outcome.RetryAfter),
        SignInStatus.CaptchaRequired => new(StatusCodes.Status428PreconditionRequired,
            "Too many failed attempts from here. Wait for the check below to finish, then sign in again.", true, null),
        SignInStatus.RateLimited => new(StatusCodes.Status429TooManyRequests,
            $"Too many attempts. Try again in {Describe(outcome.RetryAfter)}.", false, outcome.RetryAfter),
        SignInStatus.InvalidMfaCode => new(StatusCodes.Status400BadRequest, "The code is not valid.", false, null),
        _ => new(StatusCodes.Status401Unauthorized, InvalidCredentials, false, null),
    };

    private static string Describe(TimeSpan? wait)
    {
        var seconds = SignInProblems.Seconds(wait);
        return seconds < 120 ? $"{seconds} seconds" : $"{(int)Math.Ceiling(seconds / 60.0)} minutes";
    }
}
