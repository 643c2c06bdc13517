using Countersign.SignIn;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages;

/// <summary>
/// The one map from a refused sign-in to what the sign-in page shows: the status, the message in the page's language
/// (AccountText.resx and .fr.resx), and whether a proof-of-work challenge goes with it. The API's map is
/// SignIn/SignInProblems.cs, and it stays English: the API speaks stable <c>error</c> codes, not prose (docs/errors.md).
/// </summary>
public static class SignInPageText
{
    public sealed record Refusal(int Status, string Message, bool Challenge, TimeSpan? RetryAfter);

    /// <summary>The one generic failure: it never says which part of the credential was wrong (ASVS 6.3.8).</summary>
    public static string InvalidCredentials(IStringLocalizer<AccountText> t) => t["The username or password is incorrect."];

    public static Refusal For(SignInOutcome outcome, IStringLocalizer<AccountText> t) => outcome.Status switch
    {
        SignInStatus.AccountLocked => new(StatusCodes.Status423Locked,
            t["This username is locked for {0} more, after too many failed attempts. Wait until then, or let the check below finish and sign in again.",
                Describe(outcome.RetryAfter, t)],
            true, outcome.RetryAfter),
        SignInStatus.CaptchaRequired => new(StatusCodes.Status428PreconditionRequired,
            t["Too many failed attempts from here. Wait for the check below to finish, then sign in again."], true, null),
        SignInStatus.RateLimited => new(StatusCodes.Status429TooManyRequests,
            t["Too many attempts. Try again in {0}.", Describe(outcome.RetryAfter, t)], false, outcome.RetryAfter),
        SignInStatus.InvalidMfaCode => new(StatusCodes.Status400BadRequest, t["The code is not valid."], false, null),
        _ => new(StatusCodes.Status401Unauthorized, InvalidCredentials(t), false, null),
    };

    /// <summary>A wait in words, with its number as a format argument so each language places it (and its unit) itself.</summary>
    private static string Describe(TimeSpan? wait, IStringLocalizer<AccountText> t)
    {
        var seconds = SignInProblems.Seconds(wait);
        return seconds < 120 ? t["{0} seconds", seconds] : t["{0} minutes", (int)Math.Ceiling(seconds / 60.0)];
    }
}
