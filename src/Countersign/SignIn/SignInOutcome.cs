using Countersign.Accounts;
using Countersign.Defences;
using Countersign.Sessions;

namespace Countersign.SignIn;

/// <summary>How a sign-in ended. Each failure kind has one stable error code (Operations/ErrorCodes.cs).</summary>
public enum SignInStatus
{
    Succeeded,
    /// <summary>Unknown user, disabled account, wrong password, or a required factor missing or wrong: one answer for all.</summary>
    InvalidCredentials,
    /// <summary>The password is right and a second factor is needed (HTTP 417).</summary>
    MfaRequired,
    /// <summary>The second factor is wrong, reused or spent (HTTP 400).</summary>
    InvalidMfaCode,
    /// <summary>The username is locked; a solved challenge lets an attempt through anyway (HTTP 423).</summary>
    AccountLocked,
    /// <summary>This client address failed too often; every attempt needs a solved challenge (HTTP 428).</summary>
    CaptchaRequired,
    /// <summary>Too many attempts from this address, or too many at once for this username (HTTP 429).</summary>
    RateLimited,
    /// <summary>
    /// Every factor passed, but someone else chose this password (an administrator, <c>demo seed</c>): no session
    /// until the user chooses a new one (ASVS 6.4.1). Also when the new one offered is the old one again.
    /// </summary>
    PasswordChangeRequired,
}

/// <summary>An account as sign-in sees it, read in one query: the user, its roles and its second factors.</summary>
public sealed record SignInAccount(User User, IReadOnlyList<string> Roles, IReadOnlyList<string> Methods);

public sealed record SignInOutcome(SignInStatus Status)
{
    /// <summary>The account, on success (and, for a second step, when the code was wrong).</summary>
    public SignInAccount? Account { get; init; }

    /// <summary>The second factors the account has, for <see cref="SignInStatus.MfaRequired"/> and <see cref="SignInStatus.InvalidMfaCode"/>.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>How long to wait, for <see cref="SignInStatus.AccountLocked"/> and <see cref="SignInStatus.RateLimited"/>.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>A fresh proof-of-work challenge, for <see cref="SignInStatus.AccountLocked"/> and <see cref="SignInStatus.CaptchaRequired"/>.</summary>
    public CaptchaChallenge? Challenge { get; init; }

    /// <summary>The factors that passed, on success (what OIDC's <c>amr</c> will say).</summary>
    public IReadOnlyList<string> Factors { get; init; } = [];

    /// <summary>The session started, when the caller asked for one.</summary>
    public SessionFamily? Session { get; init; }

    /// <summary>Access and refresh tokens, for an API session.</summary>
    public TokenPair? Tokens { get; init; }

    public bool Succeeded => Status == SignInStatus.Succeeded;
}
