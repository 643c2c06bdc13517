using System.Security.Cryptography;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Ephemeral;
using Countersign.Secrets;
using Countersign.Sessions;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

public sealed record PairView(Guid PairId, string Counterpart, string MyWord, string TheirWord, DateTimeOffset WindowEndsAt,
    bool CounterpartOnline, bool Calling);

public sealed record CallNotice(Guid PairId, bool Calling);

public sealed record PairSummary(Guid Id, string Advisor, string Client, DateTimeOffset CreatedAt);

public enum PairError
{
    None,
    UnknownAdvisor,
    UnknownClient,
    NotAnAdvisor,
    NotAClient,
    AlreadyPaired,
}

/// <summary>Pairs and their words: administration, what each side sees, verification and the calling flag.</summary>
public sealed class PairService(
    CountersignDb db, UserManager<User> users, SecretStore secrets, IEphemeralStore store, AuditLog audit,
    IOptionsMonitor<CallVerificationOptions> options, TimeProvider time, IHubContext<CallsHub> hub)
{
    public async Task<(Pair? Pair, PairError Error)> CreateAsync(string advisorName, string clientName, string? actor, CancellationToken ct = default)
    {
        var advisor = await users.FindByNameAsync(advisorName);
        var client = await users.FindByNameAsync(clientName);
        if (advisor is null) return (null, PairError.UnknownAdvisor);
        if (client is null) return (null, PairError.UnknownClient);
        if (!await users.IsInRoleAsync(advisor, Roles.Advisor)) return (null, PairError.NotAnAdvisor);
        if (!await users.IsInRoleAsync(client, Roles.Client)) return (null, PairError.NotAClient);
        if (await db.Set<Pair>().AnyAsync(p => p.AdvisorId == advisor.Id && p.ClientId == client.Id, ct)) return (null, PairError.AlreadyPaired);

        var pair = new Pair
        {
            Id = Guid.CreateVersion7(),
            AdvisorId = advisor.Id,
            ClientId = client.Id,
            ProtectedSecret = secrets.Protect(SecretStore.PairPurpose, RandomNumberGenerator.GetBytes(32)),
            CreatedAt = time.GetUtcNow(),
        };
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Set<Pair>().Add(pair);
        await audit.RecordAsync(db, new(AuditActions.PairCreated, advisor.Id, advisor.UserName, null,
            SessionService.Detail(new { pair_id = pair.Id, client = client.UserName, actor })), ct);
        await tx.CommitAsync(ct);
        return (pair, PairError.None);
    }

    public async Task<bool> RemoveAsync(Guid pairId, string? actor, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (await db.Set<Pair>().Where(p => p.Id == pairId).ExecuteDeleteAsync(ct) == 0)
        {
            return false;
        }
        await audit.RecordAsync(db, new(AuditActions.PairRemoved, null, null, null, SessionService.Detail(new { pair_id = pairId, actor })), ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public Task<List<PairSummary>> ListAsync(CancellationToken ct = default) =>
        (from p in db.Set<Pair>()
         join a in db.Users on p.AdvisorId equals a.Id
         join c in db.Users on p.ClientId equals c.Id
         orderby a.NormalizedUserName, c.NormalizedUserName
         select new PairSummary(p.Id, a.UserName!, c.UserName!, p.CreatedAt)).ToListAsync(ct);

    /// <summary>The caller's pairs with both words of the current window: an advisor's clients or a client's advisors.</summary>
    public async Task<List<PairView>> ForUserAsync(Guid userId, string? search, int skip, int take, CancellationToken ct = default)
    {
        var query = from p in db.Set<Pair>()
                    where p.AdvisorId == userId || p.ClientId == userId
                    join a in db.Users on p.AdvisorId equals a.Id
                    join c in db.Users on p.ClientId equals c.Id
                    select new { Pair = p, Advisor = a.UserName!, Client = c.UserName!, AdvisorKey = a.NormalizedUserName!, ClientKey = c.NormalizedUserName!, c.Language };
        if (!string.IsNullOrWhiteSpace(search))
        {
            // Searched in the normalised (upper-case, NFKC) names, so case and width do not matter.
            var term = "%" + UsernameNormalizer.Canonical(search).ToUpperInvariant() + "%";
            query = query.Where(x => x.Pair.AdvisorId == userId ? EF.Functions.Like(x.ClientKey, term) : EF.Functions.Like(x.AdvisorKey, term));
        }
        var rows = await query.OrderBy(x => x.Pair.AdvisorId == userId ? x.Client : x.Advisor).Skip(skip).Take(take).ToListAsync(ct);
        var period = options.CurrentValue.Period;
        var window = WordDerivation.WindowAt(time.GetUtcNow(), period);
        var views = new List<PairView>();
        foreach (var row in rows)
        {
            var mine = row.Pair.AdvisorId == userId ? PairRole.Advisor : PairRole.Client;
            var secret = secrets.Unprotect(SecretStore.PairPurpose, row.Pair.ProtectedSecret);
            var list = WordLists.For(row.Language);
            await RecordFirstShownAsync(userId, row.Pair.Id, window, ct);
            var counterpart = mine == PairRole.Advisor ? row.Pair.ClientId : row.Pair.AdvisorId;
            views.Add(new PairView(row.Pair.Id, mine == PairRole.Advisor ? row.Client : row.Advisor,
                WordDerivation.Word(secret, mine, window, list), WordDerivation.Word(secret, Other(mine), window, list),
                WordDerivation.WindowEnd(window, period), await IsOnlineAsync(counterpart, window),
                await IsCallingAsync(row.Pair.Id)));
        }
        return views;
    }

    /// <summary>
    /// Checks the word the counterpart spoke: this window's, or the previous window's within the grace
    /// after a rotation. Every outcome is audited; a mismatch also as a possible impersonation.
    /// </summary>
    public async Task<bool?> VerifyAsync(Guid userId, string? username, Guid pairId, string spoken, string? clientIp, CancellationToken ct = default)
    {
        var found = await (from p in db.Set<Pair>()
                           where p.Id == pairId && (p.AdvisorId == userId || p.ClientId == userId)
                           join c in db.Users on p.ClientId equals c.Id
                           select new { Pair = p, c.Language }).FirstOrDefaultAsync(ct);
        if (found is null)
        {
            return null;
        }
        var o = options.CurrentValue;
        var now = time.GetUtcNow();
        var window = WordDerivation.WindowAt(now, o.Period);
        var theirs = Other(found.Pair.AdvisorId == userId ? PairRole.Advisor : PairRole.Client);
        var secret = secrets.Unprotect(SecretStore.PairPurpose, found.Pair.ProtectedSecret);
        var list = WordLists.For(found.Language);
        var heard = spoken.Trim().ToLowerInvariant();
        var windows = now - DateTimeOffset.FromUnixTimeSeconds(window * (long)o.Period.TotalSeconds) < o.Grace ? new[] { window, window - 1 } : [window];
        var match = windows.Any(w => string.Equals(WordDerivation.Word(secret, theirs, w, list), heard, StringComparison.Ordinal));

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await audit.RecordAsync(db, new(match ? AuditActions.CallWordMatched : AuditActions.PossibleImpersonation, userId, username, clientIp,
            SessionService.Detail(new { pair_id = pairId, window, checked_role = theirs.ToString().ToLowerInvariant() })), ct);
        await tx.CommitAsync(ct);
        return match;
    }

    /// <summary>The advisor marks "I am calling this client now"; the client's page shows it while it lasts.</summary>
    public async Task<bool> StartCallAsync(Guid advisorId, string? username, Guid pairId, CancellationToken ct = default)
    {
        if (!await db.Set<Pair>().AnyAsync(p => p.Id == pairId && p.AdvisorId == advisorId, ct))
        {
            return false;
        }
        await store.DeleteAsync(CallKey(pairId));
        await store.SetIfAbsentAsync(CallKey(pairId), time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            options.CurrentValue.CallDuration);
        await audit.RecordAloneAsync(db, new(AuditActions.CallStarted, advisorId, username, null, SessionService.Detail(new { pair_id = pairId })), ct);
        await NotifyCallAsync(pairId, calling: true, ct);
        return true;
    }

    public async Task<bool> EndCallAsync(Guid advisorId, string? username, Guid pairId, CancellationToken ct = default)
    {
        if (!await db.Set<Pair>().AnyAsync(p => p.Id == pairId && p.AdvisorId == advisorId, ct))
        {
            return false;
        }
        await store.DeleteAsync(CallKey(pairId));
        await audit.RecordAloneAsync(db, new(AuditActions.CallEnded, advisorId, username, null, SessionService.Detail(new { pair_id = pairId })), ct);
        await NotifyCallAsync(pairId, calling: false, ct);
        return true;
    }

    /// <summary>Tells the pair's client, on whichever node they are connected, that the advisor is (no longer) calling.</summary>
    private async Task NotifyCallAsync(Guid pairId, bool calling, CancellationToken ct)
    {
        var clientId = await db.Set<Pair>().Where(p => p.Id == pairId).Select(p => p.ClientId).FirstAsync(ct);
        await hub.Clients.User(clientId.ToString()).SendAsync("call", new CallNotice(pairId, calling), ct);
    }

    private async Task<bool> IsCallingAsync(Guid pairId) => await store.GetAsync(CallKey(pairId)) is not null;

    /// <summary>The seed's rule: audit that words were shown to a user in a window (pair and window, never the word), once.</summary>
    private async Task RecordFirstShownAsync(Guid userId, Guid pairId, long window, CancellationToken ct)
    {
        if (await store.SetIfAbsentAsync($"calls:shown:{userId:N}:{pairId:N}:{window}", "1", options.CurrentValue.Period * 2))
        {
            await audit.RecordAloneAsync(db, new(AuditActions.CallWordsShown, userId, null, null, SessionService.Detail(new { pair_id = pairId, window })), ct);
        }
    }

    /// <summary>
    /// Presence across nodes: each node renews the mark of its connected users at every window boundary,
    /// so "online" means connected to some node within the last two windows.
    /// </summary>
    public Task RecordSessionTimeoutAsync(Guid userId, CancellationToken ct = default) =>
        audit.RecordAloneAsync(db, new(AuditActions.CallSessionTimedOut, userId, null, null, null), ct);

    public Task MarkOnlineAsync(Guid userId)
    {
        var period = options.CurrentValue.Period;
        return store.SetIfAbsentAsync(PresenceKey(userId, WordDerivation.WindowAt(time.GetUtcNow(), period)), "1", period * 2);
    }

    // One mark per window, never deleted and rewritten, so no reader can fall between a delete and a set.
    private async Task<bool> IsOnlineAsync(Guid userId, long window) =>
        await store.GetAsync(PresenceKey(userId, window)) is not null || await store.GetAsync(PresenceKey(userId, window - 1)) is not null;

    private static string PresenceKey(Guid userId, long window) => $"calls:online:{userId:N}:{window}";

    private static string CallKey(Guid pairId) => $"calls:calling:{pairId:N}";

    private static PairRole Other(PairRole role) => role == PairRole.Advisor ? PairRole.Client : PairRole.Advisor;
}
