using System.Security.Cryptography;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.SignIn;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.ForwardAuth;

public sealed record DeviceView(Guid Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, string? UserAgent);

/// <summary>A device with its owner, for the admin's <c>devices list</c>.</summary>
public sealed record DeviceListing(Guid Id, string User, string Name, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt);

/// <summary>
/// Registering, listing and revoking devices. A device is added through the sign-in core like any other sign-in
/// (rate limit, proof of work, lockout, audit, attempt log), with a TOTP code as the one required factor, or after
/// a passkey assertion; its success step writes the device in the core's transaction.
/// </summary>
public sealed class DeviceService(CountersignDb db, SignInCore signIn, ForwardAuthKeys keys, ForwardAuthCache cache, DeviceActivity activity,
    AuditLog audit, TimeProvider time)
{
    public const string Channel = "device";

    public sealed record Added(SignInOutcome Outcome, string? Cookie);

    public Task<Added> AddWithCodeAsync(string username, string code, string? name, string? captcha, ClientInfo client, CancellationToken ct = default) =>
        AddAsync(new SignInAttempt
        {
            Channel = Channel,
            Client = client,
            Username = username,
            TotpCode = code,
            Captcha = captcha,
            Required = [Factors.Totp],
        }, name, ct);

    /// <summary>After a passkey assertion for <paramref name="userId"/>: the core still checks the account and records it.</summary>
    public Task<Added> AddWithPasskeyAsync(Guid userId, string? name, ClientInfo client, CancellationToken ct = default) =>
        AddAsync(new SignInAttempt
        {
            Channel = Channel,
            Client = client,
            UserId = userId,
            Proven = new HashSet<string> { Factors.Passkey },
            Required = [Factors.Passkey],
        }, name, ct);

    private async Task<Added> AddAsync(SignInAttempt attempt, string? name, CancellationToken ct)
    {
        string? cookie = null;
        var changeFirst = false;
        var outcome = await signIn.CheckAsync(attempt, (account, _) =>
        {
            // An account whose password someone else chose (ASVS 6.4.1) gets no device until it has chosen its own. This
            // channel never proves the password (a TOTP code or a passkey is its one factor), so the refusal is the same
            // generic 401 as a wrong code: "choose a new password first" here would tell whoever holds one factor that
            // the account is waiting for its first password. The audit says why; /login is where the change happens.
            if (account.User.PasswordChangeRequired)
            {
                changeFirst = true;
                return Task.FromResult(new AuditEntry(AuditActions.PasswordChangeRequired, account.User.Id, account.User.UserName, attempt.Client.Ip,
                    AuditDetail.Of(new { channel = Channel })));
            }
            var secret = RandomNumberGenerator.GetBytes(32);
            var now = time.GetUtcNow();
            var device = new Device
            {
                Id = Guid.CreateVersion7(),
                UserId = account.User.Id,
                Name = CleanName(name, attempt.Client.UserAgent),
                SecretHash = keys.DeviceHash(secret),
                CreatedAt = now,
                LastSeenAt = now,
                UserAgent = attempt.Client.UserAgent,
            };
            db.Set<Device>().Add(device);
            cookie = DeviceCookie.Format(device.Id, secret);
            CryptographicOperations.ZeroMemory(secret);
            return Task.FromResult(new AuditEntry(AuditActions.DeviceAdded, account.User.Id, account.User.UserName, attempt.Client.Ip,
                AuditDetail.Of(new { device_id = device.Id, name = device.Name, via = attempt.TotpCode is null ? Factors.Passkey : Factors.Totp })));
        }, ct);
        if (changeFirst)
        {
            return new(new SignInOutcome(SignInStatus.InvalidCredentials), null);
        }
        return new(outcome, outcome.Succeeded ? cookie : null);
    }

    private static string CleanName(string? name, string? userAgent)
    {
        var text = string.IsNullOrWhiteSpace(name) ? (userAgent is null ? "Device" : "Browser") : name.Trim();
        text = new string([.. text.Where(c => !char.IsControl(c))]);
        return text.Length <= 64 ? text : text[..64];
    }

    public async Task<List<DeviceView>> ForUserAsync(Guid userId, CancellationToken ct = default)
    {
        var rows = await db.Set<Device>().AsNoTracking().Where(d => d.UserId == userId).OrderByDescending(d => d.CreatedAt).ToListAsync(ct);
        return [.. rows.Select(d => new DeviceView(d.Id, d.Name, d.CreatedAt, LastSeen(d), d.UserAgent))];
    }

    public async Task<List<DeviceListing>> ListAsync(string? username, CancellationToken ct = default)
    {
        var query = from d in db.Set<Device>().AsNoTracking() join u in db.Users on d.UserId equals u.Id select new { d, u.UserName, u.NormalizedUserName };
        if (username is not null && !UsernameValidator.IsPlausible(username))
        {
            return [];
        }
        if (username is not null)
        {
            var normalized = UsernameNormalizer.Canonical(username).ToUpperInvariant();
            query = query.Where(x => x.NormalizedUserName == normalized);
        }
        var rows = await query.OrderBy(x => x.NormalizedUserName).ThenBy(x => x.d.CreatedAt).ToListAsync(ct);
        return [.. rows.Select(x => new DeviceListing(x.d.Id, x.UserName!, x.d.Name, x.d.CreatedAt, LastSeen(x.d)))];
    }

    private DateTimeOffset LastSeen(Device d) => activity.Pending(d.Id) is { } pending && pending > d.LastSeenAt ? pending : d.LastSeenAt;

    /// <summary>Revokes a device of <paramref name="ownerId"/> (or of anyone, for an admin: null). Every node stops accepting it within a second.</summary>
    public async Task<bool> RevokeAsync(Guid deviceId, Guid? ownerId, string? actor, string? clientIp, CancellationToken ct = default)
    {
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            var device = await db.Set<Device>().FirstOrDefaultAsync(d => d.Id == deviceId && (ownerId == null || d.UserId == ownerId), ct);
            if (device is null)
            {
                return false;
            }
            db.Set<Device>().Remove(device);
            await ForwardAuthCache.BumpAsync(db, ct);
            audit.Add(db, new(AuditActions.DeviceRevoked, device.UserId, null, clientIp, AuditDetail.Of(new { device_id = device.Id, actor })));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await cache.InvalidateAsync();
        return true;
    }
}

/// <summary>
/// A disabled account or a new password ends its device sign-ins with its sessions (ASVS 7.4.2), in the caller's
/// transaction, with the generation bump that makes every node's poll drop its cache once that transaction commits.
/// </summary>
internal sealed class DeviceSignInsObserver(CountersignDb db) : IAccountObserver
{
    public async Task SignInsEndedAsync(Guid userId, string reason, CancellationToken ct)
    {
        await db.Set<Device>().Where(d => d.UserId == userId).ExecuteDeleteAsync(ct);
        await ForwardAuthCache.BumpAsync(db, ct);
    }
}

/// <summary>The device cookie as the options say: Secure (the prefix demands it), HttpOnly, SameSite and Domain configurable.</summary>
public static class DeviceCookies
{
    public static void Issue(HttpResponse response, string value, ForwardAuthOptions options) =>
        response.Cookies.Append(ForwardAuthOptions.CookieName, value, new CookieOptions
        {
            Secure = true,
            HttpOnly = true,
            SameSite = options.CookieSameSite,
            Domain = string.IsNullOrEmpty(options.CookieDomain) ? null : options.CookieDomain,
            Path = "/",
            MaxAge = options.DeviceLifetime,
            IsEssential = true,
        });

    public static void Clear(HttpResponse response, ForwardAuthOptions options) =>
        response.Cookies.Delete(ForwardAuthOptions.CookieName, new CookieOptions
        {
            Secure = true,
            HttpOnly = true,
            SameSite = options.CookieSameSite,
            Domain = string.IsNullOrEmpty(options.CookieDomain) ? null : options.CookieDomain,
            Path = "/",
        });
}
