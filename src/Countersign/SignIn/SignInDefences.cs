using Countersign.Defences;
using Countersign.Operations;

namespace Countersign.SignIn;

/// <summary>How a checked attempt ends for the username's lockout count.</summary>
public enum Settle
{
    Success,
    Failure,
    /// <summary>A 417 (the password was right, a code is asked for) or an error: the place is given back, the count stays.</summary>
    Neither,
}

/// <summary>
/// The brute-force defences as sign-in meets them: the per-address rate limits and proof of work, and the
/// per-username lockout (Defences/). One place decides which limit an attempt counts against.
/// </summary>
public sealed class SignInDefences(RateLimiter limiter, Captcha captcha, ClientFailures clientFailures, Lockout lockout, TimeProvider time)
{
    public bool LockoutEnabled => lockout.Enabled;

    /// <summary>
    /// The login limit for an attempt that carries a password, and the second-factor limit for one that
    /// carries a code (so a code cannot be guessed faster than the password could); how long to wait, or null.
    /// </summary>
    public async Task<TimeSpan?> RateLimitAsync(SignInAttempt attempt)
    {
        if (attempt.Password is not null && await limiter.HitAsync(RateLimitedRoute.Login, attempt.Client.Ip) is { } wait)
        {
            return wait;
        }
        return attempt.PresentsCode ? await limiter.HitAsync(RateLimitedRoute.SecondFactor, attempt.Client.Ip) : null;
    }

    public async Task<bool> SolvedAsync(string? payload) => payload is not null && await captcha.VerifyAsync(payload);

    public Task<bool> CaptchaRequiredAsync(Operations.ClientInfo client) => clientFailures.RequireCaptchaAsync(client.Ip);

    public CaptchaChallenge NewChallenge() => captcha.Create();

    public Task<LockoutEntry> EnterLockoutAsync(string normalized, CancellationToken ct) => lockout.EnterAsync(normalized, ct);

    /// <summary>Counts a failure against the address (toward the proof of work) and the username; true when it locked the username.</summary>
    public async Task<bool> LeaveLockoutAsync(string normalized, bool admitted, Settle settle)
    {
        if (!lockout.Enabled)
        {
            return false;
        }
        if (settle == Settle.Neither)
        {
            if (admitted)
            {
                await lockout.GiveBackAsync(normalized);
            }
            return false;
        }
        return await lockout.LeaveAsync(normalized, admitted, failed: settle == Settle.Failure);
    }

    public Task CountClientFailureAsync(Operations.ClientInfo client) => clientFailures.RecordAsync(client.Ip);

    /// <summary>The 423 answer: how long the lock lasts and a challenge that lets one attempt through it.</summary>
    public async Task<SignInOutcome> LockedAsync(string normalized)
    {
        var now = time.GetUtcNow();
        var until = await lockout.LockedUntilAsync(normalized) ?? now + TimeSpan.FromSeconds(1);
        return new(SignInStatus.AccountLocked) { RetryAfter = until - now, Challenge = captcha.Create() };
    }

    /// <summary>The defences active for an attempt, as the attempt log names them.</summary>
    public List<string> Protections(bool solved)
    {
        var active = new List<string>();
        if (lockout.Enabled) active.Add("lockout");
        if (clientFailures.Enabled) active.Add(solved ? "captcha_solved" : "captcha");
        return active;
    }
}
