using System.Globalization;
using Countersign.Ephemeral;
using Microsoft.Extensions.Options;

namespace Countersign.Defences;

public sealed record LockoutStatus(int FailedCount, DateTimeOffset? LockedUntil, int RemainingAttempts);

/// <summary>
/// Account lockout keyed by the normalised username, whether or not the account exists, so a 423 tells
/// an attacker nothing (ASVS 6.3.1). An attempt reserves its place in the failure count before the password
/// is checked: of 50 parallel guesses only MaxFailures reach the hash, the rest meet the lock (the race in
/// Zitadel GHSA-7h8m-vrxx-vr4m). A success clears the count.
/// </summary>
public sealed class Lockout(IEphemeralStore store, IOptionsMonitor<DefencesOptions> options, TimeProvider time)
{
    private LockoutOptions O => options.CurrentValue.Lockout;

    public bool Enabled => O.Enabled;

    /// <summary>When the username's lock ends, or null when it is not locked.</summary>
    public async Task<DateTimeOffset?> LockedUntilAsync(string normalized)
    {
        if (await store.GetAsync(LockKey(normalized)) is not { } value)
        {
            return null;
        }
        var until = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(value, CultureInfo.InvariantCulture));
        if (until > time.GetUtcNow())
        {
            return until;
        }
        // Expired by the clock the server trusts (Redis keeps its own timers): start afresh.
        await ClearAsync(normalized);
        return null;
    }

    /// <summary>Counts the attempt before it is checked. False means the limit is reached: the username is now locked.</summary>
    public async Task<(bool Allowed, long Count)> ReserveAsync(string normalized)
    {
        var count = await store.IncrementAsync(FailKey(normalized), O.Duration);
        if (count <= O.MaxFailures)
        {
            return (true, count);
        }
        await LockAsync(normalized);
        return (false, count);
    }

    /// <summary>
    /// A failed check. A reserved attempt is already counted; one let through by a solved challenge is
    /// counted now. Returns true when this failure locked the username.
    /// </summary>
    public async Task<bool> RecordFailureAsync(string normalized, long? reservedCount)
    {
        var count = reservedCount ?? await store.IncrementAsync(FailKey(normalized), O.Duration);
        return count >= O.MaxFailures && await LockAsync(normalized);
    }

    public async Task ClearAsync(string normalized)
    {
        await store.DeleteAsync(FailKey(normalized));
        await store.DeleteAsync(LockKey(normalized));
    }

    public async Task<LockoutStatus> StatusAsync(string normalized)
    {
        var until = await LockedUntilAsync(normalized);
        var failures = int.Parse(await store.GetAsync(FailKey(normalized)) ?? "0", CultureInfo.InvariantCulture);
        return new(failures, until, until is null ? Math.Max(0, O.MaxFailures - failures) : 0);
    }

    private Task<bool> LockAsync(string normalized)
    {
        var until = time.GetUtcNow() + O.Duration;
        return store.SetIfAbsentAsync(LockKey(normalized), until.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), O.Duration);
    }

    private static string FailKey(string normalized) => "lockout:failures:" + normalized;

    private static string LockKey(string normalized) => "lockout:until:" + normalized;
}

/// <summary>Failed attempts per client address, which decide when a proof of work is asked for.</summary>
public sealed class ClientFailures(IEphemeralStore store, IOptionsMonitor<DefencesOptions> options)
{
    private CaptchaOptions O => options.CurrentValue.Captcha;

    public bool Enabled => O.Enabled;

    public async Task<bool> RequireCaptchaAsync(string? ip) =>
        O.Enabled && long.Parse(await store.GetAsync(Key(ip)) ?? "0", CultureInfo.InvariantCulture) >= O.AfterFailures;

    public Task RecordAsync(string? ip) => O.Enabled ? store.IncrementAsync(Key(ip), O.FailureWindow) : Task.CompletedTask;

    private static string Key(string? ip) => "captcha:failures:" + (ip ?? "unknown");
}
