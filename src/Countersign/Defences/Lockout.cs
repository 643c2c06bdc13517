using System.Globalization;
using Countersign.Ephemeral;
using Microsoft.Extensions.Options;

namespace Countersign.Defences;

public sealed record LockoutStatus(int FailedCount, DateTimeOffset? LockedUntil, int RemainingAttempts);

/// <summary>What <see cref="Lockout.EnterAsync"/> decided for one attempt.</summary>
public enum LockoutEntry
{
    /// <summary>The attempt may be checked; it holds a place until <see cref="Lockout.LeaveAsync"/>.</summary>
    Admitted,
    /// <summary>The username is locked.</summary>
    Locked,
    /// <summary>Every place is held by attempts still being checked and none freed up in time.</summary>
    Busy,
}

/// <summary>
/// Account lockout keyed by the normalised username, whether or not the account exists, so a 423 tells
/// an attacker nothing (ASVS 6.3.1).
/// <para>
/// Only failures lock. Attempts being checked hold a place each: at most <c>MaxFailures</c> minus the
/// failures so far are checked at once, so of 50 parallel guesses only <c>MaxFailures</c> reach the hash
/// (the race in Zitadel GHSA-7h8m-vrxx-vr4m). Further attempts wait for a place instead of being refused:
/// if the ones ahead succeed, the count stays at zero and the waiting ones go ahead (eight tabs or a
/// service account signing in at once never lock themselves out); if they fail, the waiting ones meet
/// the lock. A success clears the count.
/// </para>
/// </summary>
public sealed class Lockout(IEphemeralStore store, IOptionsMonitor<DefencesOptions> options, TimeProvider time)
{
    /// <summary>How long an attempt waits for a place before it is answered "busy, try again".</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    /// <summary>A node that dies mid-check leaves its place taken for at most this long.</summary>
    private static readonly TimeSpan PlaceLifetime = TimeSpan.FromSeconds(30);

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

    /// <summary>
    /// Takes a place for an attempt about to be checked, waiting (asynchronously, with back-off) while every
    /// place is held by attempts in flight. The caller must <see cref="LeaveAsync"/> an admitted attempt.
    /// </summary>
    public async Task<LockoutEntry> EnterAsync(string normalized, CancellationToken ct)
    {
        // Real elapsed time, not the business clock (which tests may stop).
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            if (await LockedUntilAsync(normalized) is not null)
            {
                return LockoutEntry.Locked;
            }
            // Place first, failures second: a failure is counted before its place is given back (LeaveAsync),
            // so places + failures never under-counts what has reached the hash.
            var places = await store.IncrementAsync(PlacesKey(normalized), PlaceLifetime);
            var failures = await FailuresAsync(normalized);
            if (places + failures <= O.MaxFailures)
            {
                return LockoutEntry.Admitted;
            }
            await GiveBackAsync(normalized);
            if (failures >= O.MaxFailures)
            {
                await LockAsync(normalized);
                return LockoutEntry.Locked;
            }
            if (waiting.Elapsed >= MaxWait)
            {
                return LockoutEntry.Busy;
            }
            await Task.Delay(pause, ct);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 50));
        }
    }

    /// <summary>
    /// The end of a checked attempt. A failure is counted (and may lock the username: true when this one
    /// did); a success clears the count. <paramref name="admitted"/> is false for an attempt that skipped
    /// <see cref="EnterAsync"/> (a solved proof of work lets one through the lock), which holds no place.
    /// </summary>
    public async Task<bool> LeaveAsync(string normalized, bool admitted, bool failed)
    {
        var lockedNow = false;
        if (failed)
        {
            var count = await store.IncrementAsync(FailKey(normalized), O.Duration);
            lockedNow = count >= O.MaxFailures && await LockAsync(normalized);
        }
        if (admitted)
        {
            await GiveBackAsync(normalized);
        }
        if (!failed)
        {
            await store.DeleteAsync(FailKey(normalized));
            await store.DeleteAsync(LockKey(normalized));
        }
        return lockedNow;
    }

    public async Task ClearAsync(string normalized)
    {
        await store.DeleteAsync(FailKey(normalized));
        await store.DeleteAsync(LockKey(normalized));
    }

    public async Task<LockoutStatus> StatusAsync(string normalized)
    {
        var until = await LockedUntilAsync(normalized);
        var failures = (int)await FailuresAsync(normalized);
        return new(failures, until, until is null ? Math.Max(0, O.MaxFailures - failures) : 0);
    }

    private async Task<long> FailuresAsync(string normalized) =>
        long.Parse(await store.GetAsync(FailKey(normalized)) ?? "0", CultureInfo.InvariantCulture);

    /// <summary>Gives back a place without counting anything (an attempt that neither failed nor succeeded).</summary>
    public async Task GiveBackAsync(string normalized)
    {
        // Below zero only when the counter expired under attempts in flight: start it afresh.
        if (await store.IncrementAsync(PlacesKey(normalized), PlaceLifetime, -1) < 0)
        {
            await store.DeleteAsync(PlacesKey(normalized));
        }
    }

    private Task<bool> LockAsync(string normalized)
    {
        var until = time.GetUtcNow() + O.Duration;
        return store.SetIfAbsentAsync(LockKey(normalized), until.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), O.Duration);
    }

    private static string FailKey(string normalized) => "lockout:failures:" + normalized;

    private static string LockKey(string normalized) => "lockout:until:" + normalized;

    private static string PlacesKey(string normalized) => "lockout:checking:" + normalized;
}
