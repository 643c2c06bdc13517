using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;

namespace Countersign.ForwardAuth;

public sealed record ServiceSummary(string Name, string Host, string PathPrefix, bool SendsIdentity, DateTimeOffset CreatedAt);

/// <summary>A grant as the admin listings show it; <c>grant_ref</c> is what the audit names it by.</summary>
public sealed record GrantSummary(string User, string Service, string GrantRef, DateTimeOffset CreatedAt);

public enum ServiceError { None, InvalidName, InvalidHost, InvalidPathPrefix, NameTaken, PlaceTaken, UnknownService, UnknownUser, AlreadyGranted, NoSuchGrant }

/// <summary>
/// Services and grants: the CLI's <c>services</c> and <c>grants</c> and <c>/api/admin/services|grants</c>. Every change
/// is audited in its transaction and, once committed, invalidates every node's verify cache.
/// </summary>
public sealed partial class ServiceAdmin(CountersignDb db, UserManager<User> users, SecretStore secrets, ForwardAuthKeys keys, AuditLog audit,
    ForwardAuthCache cache, TimeProvider time)
{
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    public static string Describe(ServiceError error) => error switch
    {
        ServiceError.InvalidName => "A service name is 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.",
        ServiceError.InvalidHost => "The host must be a DNS name or address, optionally with :port (app.example.com).",
        ServiceError.InvalidPathPrefix => "The path prefix must start with '/' and hold no '..', '%', ';', '?' or repeated slashes.",
        ServiceError.NameTaken => "A service has that name already.",
        ServiceError.PlaceTaken => "Another service is at that host and path prefix.",
        ServiceError.UnknownService => "No service has that name.",
        ServiceError.UnknownUser => "No account has that username.",
        ServiceError.AlreadyGranted => "That user may use that service already.",
        ServiceError.NoSuchGrant => "That user has no grant for that service.",
        _ => "",
    };

    /// <summary>A 256-bit token, base64url; returned once, stored as a salted digest only.</summary>
    private static (string Token, byte[] Salt, byte[] Hash) NewToken()
    {
        var token = RandomNumberGenerator.GetBytes(32);
        var salt = RandomNumberGenerator.GetBytes(16);
        return (WebEncoders.Base64UrlEncode(token), salt, ForwardAuthKeys.TokenHash(salt, token));
    }

    public static string? NormalHost(string? host)
    {
        if (string.IsNullOrWhiteSpace(host))
        {
            return null;
        }
        var value = host.Trim().ToLowerInvariant();
        if (!Uri.TryCreate("https://" + value + "/", UriKind.Absolute, out var uri) || uri.UserInfo.Length > 0 || uri.PathAndQuery != "/"
            || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            return null;
        }
        var normal = uri.IsDefaultPort ? uri.IdnHost : uri.IdnHost + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return normal == value ? normal : null;
    }

    public async Task<(ServiceSummary? Service, string? Token, ServiceError Error)> AddAsync(string name, string host, string? pathPrefix, bool sendsIdentity,
        string? actor, CancellationToken ct = default)
    {
        var prefix = string.IsNullOrEmpty(pathPrefix) ? "/" : pathPrefix;
        if (!NamePattern().IsMatch(name)) return (null, null, ServiceError.InvalidName);
        if (NormalHost(host) is not { } normalHost) return (null, null, ServiceError.InvalidHost);
        if (!PathRules.IsValidPrefix(prefix)) return (null, null, ServiceError.InvalidPathPrefix);
        if (await db.Set<ProtectedService>().AnyAsync(s => s.Name == name, ct)) return (null, null, ServiceError.NameTaken);
        if (await db.Set<ProtectedService>().AnyAsync(s => s.Host == normalHost && s.PathPrefix == prefix, ct)) return (null, null, ServiceError.PlaceTaken);
        var (token, salt, hash) = NewToken();
        var service = new ProtectedService
        {
            Id = Guid.CreateVersion7(), Name = name, Host = normalHost, PathPrefix = prefix, TokenSalt = salt, TokenHash = hash,
            SendsIdentity = sendsIdentity, CreatedAt = time.GetUtcNow(),
        };
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            db.Set<ProtectedService>().Add(service);
            audit.Add(db, new(AuditActions.ServiceAdded, null, null, null,
                AuditDetail.Of(new { service = name, host = normalHost, path_prefix = prefix, sends_identity = sendsIdentity, actor })));
            await ForwardAuthCache.BumpAsync(db, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await cache.InvalidateAsync();
        return (Summary(service), token, ServiceError.None);
    }

    public Task<List<ServiceSummary>> ListAsync(CancellationToken ct = default) =>
        db.Set<ProtectedService>().AsNoTracking().OrderBy(s => s.Name)
            .Select(s => new ServiceSummary(s.Name, s.Host, s.PathPrefix, s.SendsIdentity, s.CreatedAt)).ToListAsync(ct);

    /// <summary>Removes the service and every grant for it (found by decrypting the pairs: no column names the service).</summary>
    public async Task<bool> RemoveAsync(string name, string? actor, CancellationToken ct = default)
    {
        if (!NamePattern().IsMatch(name))
        {
            return false;
        }
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            if (await db.Set<ProtectedService>().FirstOrDefaultAsync(s => s.Name == name, ct) is not { } service)
            {
                return false;
            }
            var grants = 0;
            foreach (var grant in await db.Set<ServiceGrant>().ToListAsync(ct))
            {
                if (Unpair(grant).ServiceId == service.Id)
                {
                    db.Set<ServiceGrant>().Remove(grant);
                    grants++;
                }
            }
            db.Set<ProtectedService>().Remove(service);
            audit.Add(db, new(AuditActions.ServiceRemoved, null, null, null, AuditDetail.Of(new { service = name, grants, actor })));
            await ForwardAuthCache.BumpAsync(db, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await cache.InvalidateAsync();
        return true;
    }

    public async Task<string?> RotateTokenAsync(string name, string? actor, CancellationToken ct = default)
    {
        if (!NamePattern().IsMatch(name))
        {
            return null;
        }
        var (token, salt, hash) = NewToken();
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            if (await db.Set<ProtectedService>().FirstOrDefaultAsync(s => s.Name == name, ct) is not { } service)
            {
                return null;
            }
            service.TokenSalt = salt;
            service.TokenHash = hash;
            audit.Add(db, new(AuditActions.ServiceTokenRotated, null, null, null, AuditDetail.Of(new { service = name, actor })));
            await ForwardAuthCache.BumpAsync(db, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await cache.InvalidateAsync();
        return token;
    }

    /// <summary>
    /// The audit names a grant by <c>grant_ref</c> (the start of its lookup digest), never by user and service together:
    /// the audit is in the same database, and the pair is exactly what a copy must not reveal.
    /// </summary>
    public async Task<ServiceError> GrantAsync(string username, string serviceName, string? actor, CancellationToken ct = default)
    {
        var (user, service, error) = await FindAsync(username, serviceName, ct);
        if (error != ServiceError.None) return error;
        var lookup = keys.GrantLookup(user!.Id, service!.Id);
        if (await db.Set<ServiceGrant>().AnyAsync(g => g.Lookup == lookup, ct)) return ServiceError.AlreadyGranted;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            db.Set<ServiceGrant>().Add(new ServiceGrant
            {
                Lookup = lookup,
                ProtectedPair = secrets.Protect(SecretStore.GrantPurpose, ForwardAuthKeys.Pair(user.Id, service.Id)),
                CreatedAt = time.GetUtcNow(),
            });
            audit.Add(db, new(AuditActions.GrantAdded, null, null, null, AuditDetail.Of(new { grant_ref = Ref(lookup), actor })));
            await ForwardAuthCache.BumpAsync(db, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await cache.InvalidateAsync();
        return ServiceError.None;
    }

    public async Task<ServiceError> RevokeGrantAsync(string username, string serviceName, string? actor, CancellationToken ct = default)
    {
        var (user, service, error) = await FindAsync(username, serviceName, ct);
        if (error != ServiceError.None) return error;
        var lookup = keys.GrantLookup(user!.Id, service!.Id);
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            if (await db.Set<ServiceGrant>().Where(g => g.Lookup == lookup).ExecuteDeleteAsync(ct) == 0)
            {
                return ServiceError.NoSuchGrant;
            }
            audit.Add(db, new(AuditActions.GrantRemoved, null, null, null, AuditDetail.Of(new { grant_ref = Ref(lookup), actor })));
            await ForwardAuthCache.BumpAsync(db, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await cache.InvalidateAsync();
        return ServiceError.None;
    }

    /// <summary>Every grant, decrypted, filtered by user and service name when given.</summary>
    public async Task<List<GrantSummary>> ListGrantsAsync(string? username, string? serviceName, CancellationToken ct = default)
    {
        var services = await db.Set<ProtectedService>().AsNoTracking().ToDictionaryAsync(s => s.Id, s => s.Name, ct);
        var pairs = (await db.Set<ServiceGrant>().AsNoTracking().ToListAsync(ct)).Select(g => (Grant: g, Pair: Unpair(g))).ToList();
        var userIds = pairs.Select(p => p.Pair.UserId).Distinct().ToList();
        var names = await db.Users.AsNoTracking().Where(u => userIds.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.UserName!, ct);
        if (username is not null && !UsernameValidator.IsPlausible(username))
        {
            return [];
        }
        var normalized = username is null ? null : users.NormalizeName(username);
        var normalizedNames = normalized is null ? null
            : await db.Users.AsNoTracking().Where(u => u.NormalizedUserName == normalized).Select(u => u.Id).ToListAsync(ct);
        return [.. pairs
            .Where(p => services.ContainsKey(p.Pair.ServiceId) && names.ContainsKey(p.Pair.UserId))
            .Where(p => normalizedNames is null || normalizedNames.Contains(p.Pair.UserId))
            .Where(p => serviceName is null || services[p.Pair.ServiceId] == serviceName)
            .Select(p => new GrantSummary(names[p.Pair.UserId], services[p.Pair.ServiceId], Ref(p.Grant.Lookup), p.Grant.CreatedAt))
            .OrderBy(g => g.Service, StringComparer.Ordinal).ThenBy(g => g.User, StringComparer.Ordinal)];
    }

    // Names that no account or service can have are not looked up (PostgreSQL refuses a NUL in a query: the fuzzer's 500).
    private async Task<(User?, ProtectedService?, ServiceError)> FindAsync(string username, string serviceName, CancellationToken ct)
    {
        if (!UsernameValidator.IsPlausible(username) || await users.FindByNameAsync(username) is not { } user) return (null, null, ServiceError.UnknownUser);
        if (!NamePattern().IsMatch(serviceName)
            || await db.Set<ProtectedService>().AsNoTracking().FirstOrDefaultAsync(s => s.Name == serviceName, ct) is not { } service)
            return (null, null, ServiceError.UnknownService);
        return (user, service, ServiceError.None);
    }

    private (Guid UserId, Guid ServiceId) Unpair(ServiceGrant grant)
    {
        var pair = secrets.Unprotect(SecretStore.GrantPurpose, grant.ProtectedPair);
        return (new Guid(pair.AsSpan(0, 16)), new Guid(pair.AsSpan(16, 16)));
    }

    private static string Ref(byte[] lookup) => Convert.ToHexStringLower(lookup.AsSpan(0, 8));

    private static ServiceSummary Summary(ProtectedService s) => new(s.Name, s.Host, s.PathPrefix, s.SendsIdentity, s.CreatedAt);
}

/// <summary>The grants' encrypted pairs, for <c>keys reencrypt</c>.</summary>
internal sealed class GrantSecrets(CountersignDb db) : IProtectedSecrets
{
    public Task<int> ReprotectAsync(SecretStore store, CancellationToken ct) =>
        store.ReprotectAsync(db.Set<ServiceGrant>(), SecretStore.GrantPurpose, g => g.ProtectedPair, (g, value) => g.ProtectedPair = value, ct);
}
