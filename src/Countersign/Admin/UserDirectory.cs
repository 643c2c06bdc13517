using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.Admin;

public sealed record UserSummary(Guid Id, string Username, bool Disabled, IReadOnlyList<string> Roles, DateTimeOffset CreatedAt);

/// <summary>A page of accounts; <c>next_after</c> is the cursor of the next page (null on the last).</summary>
public sealed record UserPage(IReadOnlyList<UserSummary> Users, string? NextAfter);

public sealed record SecondFactorsView(bool Totp, int RecoveryCodesLeft, int Passkeys);

public sealed record UserDetail(Guid Id, string Username, string? Email, bool Disabled, bool PasswordChangeRequired,
    IReadOnlyList<string> Roles, DateTimeOffset CreatedAt, string Language, SecondFactorsView SecondFactors);

public sealed record DashboardCounts(int Accounts, int ActiveSessions, IReadOnlyList<LockedUsername> LockedUsernames, int FailedSignInsLastHour);

public sealed record LockedUsername(string Username, DateTimeOffset LockedUntil);

/// <summary>
/// What the administrator reads about accounts, for the API and the console alike. The list pages by keyset on
/// <c>NormalizedUserName</c>, which Identity's unique <c>UserNameIndex</c> covers, so a page costs the same whether it is
/// the first or the two-hundredth of 10,000 accounts (bench/admin measures it); search is a prefix of the normalised name,
/// on the same index.
/// </summary>
public sealed class UserDirectory(CountersignDb db, ILookupNormalizer normalizer, Lockout lockout, IOptionsMonitor<DefencesOptions> defences,
    TimeProvider time)
{
    public const int MaxPage = 200;

    public async Task<UserPage> ListAsync(string? search, string? after, int limit, CancellationToken ct = default)
    {
        var take = Math.Clamp(limit, 1, MaxPage);
        var query = db.Users.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(search) && search.Length <= 256)
        {
            var prefix = normalizer.NormalizeName(search.Trim())!;
            query = query.Where(u => u.NormalizedUserName!.StartsWith(prefix));
        }
        if (!string.IsNullOrEmpty(after) && after.Length <= 256)
        {
            // Runs in SQL, in the column's collation, the same one ORDER BY uses, so the pages neither skip nor repeat a name.
#pragma warning disable CA1309, CA1310 // translated to SQL's ">", not run in .NET
            query = query.Where(u => string.Compare(u.NormalizedUserName, after) > 0);
#pragma warning restore CA1309, CA1310
        }
        var rows = await query.OrderBy(u => u.NormalizedUserName)
            .Select(u => new { u.Id, u.UserName, u.NormalizedUserName, u.IsDisabled, u.CreatedAt })
            .Take(take + 1).ToListAsync(ct);
        var page = rows.Take(take).ToList();
        var ids = page.Select(u => u.Id).ToList();
        // One more indexed query for the page's roles (the user-role key starts with the user id).
        var roles = (await (from ur in db.UserRoles
                            join r in db.Roles on ur.RoleId equals r.Id
                            where ids.Contains(ur.UserId)
                            select new { ur.UserId, r.Name }).ToListAsync(ct))
            .ToLookup(x => x.UserId, x => x.Name!);
        return new(
            [.. page.Select(u => new UserSummary(u.Id, u.UserName!, u.IsDisabled, [.. roles[u.Id].Order(StringComparer.Ordinal)], u.CreatedAt))],
            rows.Count > take ? page[^1].NormalizedUserName : null);
    }

    public Task<User?> FindAsync(Guid id, CancellationToken ct = default) => db.Users.FirstOrDefaultAsync(u => u.Id == id, ct);

    public async Task<UserDetail> DetailAsync(User user, CancellationToken ct = default)
    {
        var roles = await (from ur in db.UserRoles
                           join r in db.Roles on ur.RoleId equals r.Id
                           where ur.UserId == user.Id
                           select r.Name!).ToListAsync(ct);
        var totp = await db.TotpAuthenticators.AnyAsync(t => t.UserId == user.Id && t.ConfirmedAt != null, ct);
        var codes = await db.RecoveryCodes.CountAsync(c => c.UserId == user.Id && c.UsedAt == null, ct);
        var passkeys = await db.UserPasskeys.CountAsync(p => p.UserId == user.Id, ct);
        return new(user.Id, user.UserName!, user.Email, user.IsDisabled, user.PasswordChangeRequired, [.. roles.Order(StringComparer.Ordinal)],
            user.CreatedAt, user.Language, new(totp, codes, passkeys));
    }

    /// <summary>
    /// The dashboard's figures. Locks live in the ephemeral store, which cannot be listed; the candidates are the usernames
    /// the audit saw locked within one lock duration, and each is asked of the live lockout state.
    /// </summary>
    public async Task<DashboardCounts> CountsAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var accounts = await db.Users.CountAsync(ct);
        var sessions = await db.SessionFamilies.CountAsync(f => f.RevokedAt == null && f.ExpiresAt > now, ct);
        var hourAgo = now.AddHours(-1);
        var failed = await db.AuditEvents.CountAsync(e => e.Action == AuditActions.LoginFailed && e.At >= hourAgo, ct);
        var since = now - defences.CurrentValue.Lockout.Duration;
        var candidates = await db.AuditEvents.AsNoTracking().Where(e => e.Action == AuditActions.LockedOut && e.At >= since && e.Username != null)
            .Select(e => e.Username!).Distinct().Take(100).ToListAsync(ct);
        var locked = new List<LockedUsername>();
        foreach (var name in candidates)
        {
            if ((await lockout.StatusAsync(normalizer.NormalizeName(name)!)).LockedUntil is { } until && until > now)
            {
                locked.Add(new(name, until));
            }
        }
        return new(accounts, sessions, [.. locked.OrderBy(l => l.Username, StringComparer.Ordinal)], failed);
    }
}
