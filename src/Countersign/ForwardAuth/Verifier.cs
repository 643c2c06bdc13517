using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Countersign.ForwardAuth;

public enum VerifyStatus
{
    /// <summary>No usable device: missing, malformed, unknown, expired, revoked, or its account disabled.</summary>
    NotSignedIn,
    ServiceNotFound,
    NoGrant,
    Granted,
}

public sealed record VerifyResult(VerifyStatus Status, Guid DeviceId = default, string? Subject = null, ServiceState? Service = null,
    AccountState? Account = null);

/// <summary>
/// The hot path of both <c>/verify/{service}</c> and <c>/forward-auth</c>: the device cookie, the account, the grant,
/// read from <see cref="ForwardAuthCache"/> only. No database write: "last seen" goes to <see cref="DeviceActivity"/>.
/// </summary>
public sealed class Verifier(ForwardAuthCache cache, ForwardAuthKeys keys, DeviceActivity activity, IOptionsMonitor<ForwardAuthOptions> options,
    TimeProvider time)
{
    // Compared against when the device is unknown, so an unknown id costs the same HMAC and comparison as a known
    // one (the seed's timing defence).
    private static readonly byte[] DummyHash = RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// The device and its account, when the cookie names a live device of an active account; <c>RenewCookie</c> when
    /// the browser's copy should get a fresh Max-Age (<see cref="CookieRenewalDue"/>).
    /// </summary>
    public async ValueTask<(DeviceState Device, AccountState Account, bool RenewCookie)?> DeviceAsync(string? cookie)
    {
        if (!DeviceCookie.TryParse(cookie, out var id, out var secret))
        {
            return null;
        }
        var device = await cache.DeviceAsync(id);
        var hash = keys.DeviceHash(secret);
        var matches = CryptographicOperations.FixedTimeEquals(hash, device?.SecretHash ?? DummyHash);
        if (device is null || !matches)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var lastSeen = activity.Pending(id) is { } pending && pending > device.LastSeenAt ? pending : device.LastSeenAt;
        var lifetime = options.CurrentValue.DeviceLifetime;
        if (lastSeen + lifetime <= now)
        {
            return null;
        }
        if (await cache.AccountAsync(device.UserId) is not { Active: true } account)
        {
            return null;
        }
        activity.Seen(id, now);
        return (device, account, CookieRenewalDue(lastSeen, now, lifetime));
    }

    /// <summary>
    /// The server's expiry slides with every use (last seen + lifetime), but the browser drops the cookie at the Max-Age
    /// it was given, so the cookie is issued again as the expiry moves. Not on every answer (a Set-Cookie per proxied
    /// request), and with no state kept: time is cut into windows of a thirtieth of the lifetime (a day for 30 days),
    /// and the first use in a window, the one whose previous use lies in an earlier window, renews. The browser's copy
    /// then expires at most one window before the server's (a day in 30), never after it. A node that has not seen the
    /// latest use yet (last seen is written in batches) may renew once more; that is harmless.
    /// </summary>
    public static bool CookieRenewalDue(DateTimeOffset lastSeen, DateTimeOffset now, TimeSpan lifetime)
    {
        var window = lifetime.Ticks / 30;
        return lastSeen.UtcTicks / window < now.UtcTicks / window;
    }

    /// <summary>Whether the device's account may use the service: a grant, or the admin role (the seed's rule).</summary>
    public async ValueTask<VerifyResult> AuthorizeAsync(DeviceState device, AccountState account, ServiceState service)
    {
        var granted = account.IsAdmin || await cache.GrantedAsync(device.UserId, service.Id, keys);
        return granted
            ? new(VerifyStatus.Granted, device.Id, cache.Subject(device.UserId, service.Id, keys), service, account)
            : new(VerifyStatus.NoGrant, device.Id, null, service, account);
    }

    /// <summary>The service a bearer token belongs to: the named one when it matches, else null.</summary>
    public static bool TokenMatches(ServiceState service, ReadOnlySpan<byte> token)
    {
        Span<byte> hash = stackalloc byte[32];
        ForwardAuthKeys.TokenHash(service.TokenSalt, token, hash);
        return CryptographicOperations.FixedTimeEquals(hash, service.TokenHash);
    }
}
