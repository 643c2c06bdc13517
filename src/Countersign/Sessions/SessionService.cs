using System.Security.Cryptography;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace Countersign.Sessions;

public sealed record TokenPair(string AccessToken, int ExpiresIn, string RefreshToken, Guid SessionId);

/// <summary>
/// Session families and refresh-token rotation. A family is one sign-in; each refresh exchanges the
/// presented token for a new one. Presenting a token that was already exchanged means two parties
/// hold it, so the whole family is revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
/// </summary>
public sealed class SessionService(
    CountersignDb db,
        AccessTokens accessTokens,
    AuditLog audit,
    IOptionsMonitor<TokenOptions> options,
    SessionLiveness liveness,
    TimeProvider time) : IAccountObserver
{
    /// <summary>
    /// Starts a family for a verified user. Nothing is written until the caller saves, so the family, its
    /// first token and the audit event go to the database in one batch and one transaction.
    /// </summary>
    public SessionFamily Start(User user, string kind, ClientInfo client)
    {
        var now = time.GetUtcNow();
        var family = new SessionFamily
        {
            Id = Guid.CreateVersion7(),
            UserId = user.Id,
            Kind = kind,
            CreatedAt = now,
            LastUsedAt = now,
            ExpiresAt = now + options.CurrentValue.RefreshAbsoluteLifetime,
            ClientIp = client.Ip,
            UserAgent = client.UserAgent,
        };
        db.SessionFamilies.Add(family);
        return family;
    }

    /// <summary>Issues an access token and a new refresh token of the family (written with the caller's next save).</summary>
    public TokenPair Issue(User user, IList<string> roles, Guid familyId)
    {
        var refresh = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        db.RefreshTokens.Add(new RefreshToken { FamilyId = familyId, Hash = Digest(refresh), CreatedAt = time.GetUtcNow() });
        var (access, expiresIn) = accessTokens.Create(user, roles, familyId);
        return new(access, expiresIn, refresh, familyId);
    }

    /// <summary>Rotates a refresh token. Null means refused: unknown, expired, revoked, reused, or a disabled account.</summary>
    public async Task<TokenPair?> RefreshAsync(string presented, ClientInfo client, CancellationToken ct = default)
    {
        var hash = Digest(presented);
        var now = time.GetUtcNow();
        var o = options.CurrentValue;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var found = await TokenByHash.For(db)(db, hash, ct);
        if (found is null || found.Family.RevokedAt is not null || found.Family.ExpiresAt <= now
            || found.CreatedAt + o.RefreshIdleLifetime <= now)
        {
            return null;
        }

        // A token exchanged before is in two parties' hands (RFC 9700 §4.14.2).
        if (found.UsedAt is not null)
        {
            return await RefusedAsReuseAsync(found, client, tx, ct);
        }
        if (found.User.IsDisabled)
        {
            return null;
        }

        // The claim is part of the save: UsedAt is a concurrency token, so the save's UPDATE of the token matches only
        // while it is still unused. Of two requests presenting one token the database lets exactly one mark it used;
        // the other's save fails, and that is reuse too. The account and family were read untracked: only these
        // columns are written.
        db.RefreshTokens.Attach(new RefreshToken { Id = found.TokenId, FamilyId = found.Family.Id, Hash = hash, CreatedAt = found.CreatedAt })
            .Property(t => t.UsedAt).CurrentValue = now;
        db.SessionFamilies.Attach(found.Family).Property(f => f.LastUsedAt).CurrentValue = now;
        var pair = Issue(found.User, found.Roles, found.Family.Id);
        audit.Add(db, new(AuditActions.Refresh, found.User.Id, found.User.UserName, client.Ip,
            AuditDetail.Of(new { session_id = found.Family.Id })));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Nothing of this attempt stays: its transaction is rolled back, its entities forgotten.
            await tx.RollbackAsync(ct);
            db.ChangeTracker.Clear();
            await using var again = await db.Database.BeginTransactionAsync(ct);
            return await RefusedAsReuseAsync(found, client, again, ct);
        }
        await tx.CommitAsync(ct);
        return pair;
    }

    /// <summary>Revokes the family of a token presented again, audited; the refresh is refused.</summary>
    private async Task<TokenPair?> RefusedAsReuseAsync(PresentedToken found, ClientInfo client, IDbContextTransaction tx, CancellationToken ct)
    {
        await RevokeFamilyAsync(found.Family.Id, "refresh_token_reuse", ct);
        audit.Add(db, new(AuditActions.RefreshReuseDetected, found.User.Id, found.User.UserName, client.Ip,
            AuditDetail.Of(new { session_id = found.Family.Id })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return null;
    }

    /// <summary>What <see cref="TokenByHash"/> returns.</summary>
    private sealed record PresentedToken(long TokenId, DateTimeOffset CreatedAt, DateTimeOffset? UsedAt, SessionFamily Family, User User, List<string> Roles);

    // One query for everything a refresh needs: the token, its family, the account and its roles. Compiled once, so a
    // rotation does not walk and hash the expression tree to find the cached plan (docs/benchmarks.md); untracked, so
    // EF neither snapshots the account nor compares it at the save.
    private static readonly CompiledQuery<Func<CountersignDb, byte[], CancellationToken, Task<PresentedToken?>>> TokenByHash = new(() =>
        EF.CompileAsyncQuery((CountersignDb db, byte[] hash, CancellationToken token) => (
            from t in db.RefreshTokens
            join f in db.SessionFamilies on t.FamilyId equals f.Id
            join u in db.Users on f.UserId equals u.Id
            where t.Hash == hash
            select new PresentedToken(t.Id, t.CreatedAt, t.UsedAt, f, u,
                db.UserRoles.Where(ur => ur.UserId == u.Id).Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToList()))
            .AsNoTracking()
            .FirstOrDefault()));

    /// <summary>Finds the family a refresh token belongs to, used or not.</summary>
    public Task<SessionFamily?> FindByRefreshTokenAsync(string presented, CancellationToken ct = default)
    {
        var hash = Digest(presented);
        return (from t in db.RefreshTokens
                join f in db.SessionFamilies on t.FamilyId equals f.Id
                where t.Hash == hash
                select f).FirstOrDefaultAsync(ct);
    }

    public async Task<int> RevokeFamilyAsync(Guid familyId, string reason, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var revoked = await db.SessionFamilies.Where(f => f.Id == familyId && f.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.RevokedAt, now).SetProperty(f => f.RevokedReason, reason), ct);
        await AfterCommit.RunAsync(db, () => liveness.FamilyEndedAsync(familyId));
        return revoked;
    }

    /// <summary>Ends every session of a user, e.g. when the account is disabled (ASVS 7.4.2).</summary>
    public async Task<int> RevokeAllAsync(Guid userId, string reason, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var revoked = await db.SessionFamilies.Where(f => f.UserId == userId && f.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.RevokedAt, now).SetProperty(f => f.RevokedReason, reason), ct);
        await AfterCommit.RunAsync(db, () => liveness.UserSessionsEndedAsync(userId));
        return revoked;
    }

    /// <summary>An account disabled or given a new password: all its sessions end, in the caller's transaction.</summary>
    Task IAccountObserver.SignInsEndedAsync(Guid userId, string reason, CancellationToken ct) => RevokeAllAsync(userId, reason, ct);

    /// <summary>The user's own password change: the session it came from stays.</summary>
    Task IAccountObserver.OtherSignInsEndedAsync(Guid userId, Guid? keepSession, string reason, CancellationToken ct) =>
        RevokeOthersAsync(userId, keepSession, reason, ct);

    /// <summary>Ends every session of a user but one (the caller's own, when there is one).</summary>
    public async Task<int> RevokeOthersAsync(Guid userId, Guid? keep, string reason, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var revoked = await db.SessionFamilies.Where(f => f.UserId == userId && f.RevokedAt == null && f.Id != keep)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.RevokedAt, now).SetProperty(f => f.RevokedReason, reason), ct);
        await AfterCommit.RunAsync(db, () => liveness.UserSessionsEndedAsync(userId));
        return revoked;
    }

    /// <summary>The user's live sessions, newest first.</summary>
    public async Task<List<SessionFamily>> ListActiveAsync(Guid userId, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var families = await db.SessionFamilies.AsNoTracking()
            .Where(f => f.UserId == userId && f.RevokedAt == null && f.ExpiresAt > now)
            .OrderByDescending(f => f.CreatedAt)
            .ToListAsync(ct);
        return families;
    }

    /// <summary>
    /// Is the session behind a token or cookie still live? Checked on every authenticated request (ASVS
    /// 7.4.1); a warm node answers from <see cref="SessionLiveness"/> without the database.
    /// </summary>
    public Task<bool> IsActiveAsync(Guid familyId, CancellationToken ct = default) =>
        liveness.IsActiveAsync(familyId, () => ReadLivenessAsync(familyId, ct));

    /// <summary>The account a live session belongs to, or null when it has ended; for the OIDC provider's grants.</summary>
    public async Task<Guid?> ActiveUserAsync(Guid familyId, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        return await db.SessionFamilies.AsNoTracking().Where(f => f.Id == familyId && f.RevokedAt == null && f.ExpiresAt > now)
            .Select(f => (Guid?)f.UserId).FirstOrDefaultAsync(ct);
    }

    private async Task<SessionLiveness.Row?> ReadLivenessAsync(Guid familyId, CancellationToken ct)
    {
        var row = await db.SessionFamilies.AsNoTracking().Where(f => f.Id == familyId)
            .Select(f => new { f.UserId, Revoked = f.RevokedAt != null, f.ExpiresAt }).FirstOrDefaultAsync(ct);
        return row is null ? null : new SessionLiveness.Row(row.UserId, row.Revoked, row.ExpiresAt);
    }

    /// <summary>Those of the given sessions that are no longer live (revoked, expired or gone), 500 per query.</summary>
    public async Task<IReadOnlySet<Guid>> InactiveAmongAsync(IReadOnlyCollection<Guid> familyIds, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var inactive = new HashSet<Guid>(familyIds);
        foreach (var chunk in familyIds.Chunk(500))
        {
            inactive.ExceptWith(await db.SessionFamilies.Where(f => chunk.Contains(f.Id) && f.RevokedAt == null && f.ExpiresAt > now)
                .Select(f => f.Id).ToListAsync(ct));
        }
        return inactive;
    }

    internal static byte[] Digest(string token) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));
}
