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

/// <summary>Pairs and their words: administration, what each side sees, verification and the calling flag.</summary>
public sealed class PairService(
    CountersignDb db, UserManager<User> users, SecretStore secrets, IEphemeralStore store, AuditLog audit,
    IOptionsMonitor<CallVerificationOptions> options, TimeProvider time, ShownAudit shownAudit)
{
    /// <summary>What creating the pair would answer, creating nothing (the console's CSV import preview).</summary>
    public async Task<PairError> CheckAsync(string advisorName, string clientName, CancellationToken ct = default) =>
        (await ResolveAsync(advisorName, clientName, ct)).Error;

    private async Task<(User? Advisor, User? Client, PairError Error)> ResolveAsync(string advisorName, string clientName, CancellationToken ct)
    {
        // A name no account can have is not looked up (PostgreSQL refuses a NUL in a query: the fuzzer's 500).
        var advisor = UsernameValidator.IsPlausible(advisorName) ? await users.FindByNameAsync(advisorName) : null;
        var client = UsernameValidator.IsPlausible(clientName) ? await users.FindByNameAsync(clientName) : null;
        if (advisor is null) return (null, null, PairError.UnknownAdvisor);
        if (client is null) return (null, null, PairError.UnknownClient);
        if (!await users.IsInRoleAsync(advisor, Roles.Advisor)) return (null, null, PairError.NotAnAdvisor);
        if (!await users.IsInRoleAsync(client, Roles.Client)) return (null, null, PairError.NotAClient);
        if (await db.Set<Pair>().AnyAsync(p => p.AdvisorId == advisor.Id && p.ClientId == client.Id, ct)) return (null, null, PairError.AlreadyPaired);
        return (advisor, client, PairError.None);
    }

    public async Task<(Pair? Pair, PairError Error)> CreateAsync(string advisorName, string clientName, string? actor, CancellationToken ct = default)
    {
        var (advisor, client, error) = await ResolveAsync(advisorName, clientName, ct);
        if (error != PairError.None)
        {
            return (null, error);
        }

        var pair = new Pair
        {
            Id = Guid.CreateVersion7(),
            AdvisorId = advisor!.Id,
            ClientId = client!.Id,
            ProtectedSecret = secrets.Protect(SecretStore.PairPurpose, RandomNumberGenerator.GetBytes(32)),
            CreatedAt = time.GetUtcNow(),
        };
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Set<Pair>().Add(pair);
        audit.Add(db, new(AuditActions.PairCreated, advisor.Id, advisor.UserName, null,
            AuditDetail.Of(new { pair_id = pair.Id, client = client.UserName, actor })));
        await db.SaveChangesAsync(ct);
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
        audit.Add(db, new(AuditActions.PairRemoved, null, null, null, AuditDetail.Of(new { pair_id = pairId, actor })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public Task<List<PairSummary>> ListAsync(CancellationToken ct = default) =>
        (from p in db.Set<Pair>()
         join a in db.Users on p.AdvisorId equals a.Id
         join c in db.Users on p.ClientId equals c.Id
         orderby a.NormalizedUserName, c.NormalizedUserName
         select new PairSummary(p.Id, a.UserName!, c.UserName!, p.CreatedAt)).ToListAsync(ct);

    /// <summary>
    /// The admin console's listing: one page of pairs, ordered by the advisor's then the client's name, filtered in the
    /// database by a term either name contains (compared in the normalised names, so case and width do not matter).
    /// </summary>
    public Task<List<PairSummary>> SearchAsync(string? contains, int skip, int take, CancellationToken ct = default)
    {
        var query = Rows(db.Set<Pair>());
        if (!string.IsNullOrWhiteSpace(contains))
        {
            var term = "%" + UsernameNormalizer.Canonical(contains).ToUpperInvariant() + "%";
            query = query.Where(x => EF.Functions.Like(x.AdvisorKey, term) || EF.Functions.Like(x.ClientKey, term));
        }
        return query.OrderBy(x => x.AdvisorKey).ThenBy(x => x.ClientKey).ThenBy(x => x.Pair.Id).Skip(skip).Take(take)
            .Select(x => new PairSummary(x.Pair.Id, x.Advisor, x.Client, x.Pair.CreatedAt)).ToListAsync(ct);
    }

    public Task<PairSummary?> FindAsync(Guid pairId, CancellationToken ct = default) =>
        Rows(db.Set<Pair>().Where(p => p.Id == pairId)).Select(x => new PairSummary(x.Pair.Id, x.Advisor, x.Client, x.Pair.CreatedAt)).FirstOrDefaultAsync(ct);

    /// <summary>The caller's pairs with both words of the current window: an advisor's clients or a client's advisors.</summary>
    public async Task<List<PairView>> ForUserAsync(Guid userId, string? search, int skip, int take, CancellationToken ct = default)
    {
        var query = Rows(db.Set<Pair>().Where(p => p.AdvisorId == userId || p.ClientId == userId));
        if (!string.IsNullOrWhiteSpace(search))
        {
            // Searched in the normalised (upper-case, NFKC) names, so case and width do not matter.
            var term = "%" + UsernameNormalizer.Canonical(search).ToUpperInvariant() + "%";
            query = query.Where(x => x.Pair.AdvisorId == userId ? EF.Functions.Like(x.ClientKey, term) : EF.Functions.Like(x.AdvisorKey, term));
        }
        var rows = await query.OrderBy(x => x.Pair.AdvisorId == userId ? x.Client : x.Advisor).Skip(skip).Take(take).ToListAsync(ct);
        var batch = await ViewsAsync([userId], rows, CurrentWindow(), ct);
        await RecordShownAsync(batch, ct);
        return batch.Views.GetValueOrDefault(userId) ?? [];
    }

    /// <summary>What a set of users is shown in one window, and which (user, pair) saw its words.</summary>
    public sealed record ViewBatch(long Window, Dictionary<Guid, List<PairView>> Views, List<(Guid User, Guid Pair)> Shown);

    /// <summary>
    /// The pairs of many users at once, for the push at a window boundary: one query per 500 users, the
    /// words derived in memory, presence and calling flags read in one round trip per chunk. The caller
    /// records what was shown (<see cref="RecordShownAsync"/>) after sending, so the audit does not delay the push.
    /// </summary>
    public async Task<ViewBatch> ForUsersAsync(IReadOnlyCollection<Guid> userIds, long? window = null, CancellationToken ct = default)
    {
        var result = new ViewBatch(window ?? CurrentWindow(), [], []);
        foreach (var chunk in userIds.Chunk(500))
        {
            var rows = await Rows(db.Set<Pair>().Where(p => chunk.Contains(p.AdvisorId) || chunk.Contains(p.ClientId)))
                .OrderBy(x => x.Client).ThenBy(x => x.Advisor).ToListAsync(ct);
            var batch = await ViewsAsync(chunk, rows, result.Window, ct);
            foreach (var (user, views) in batch.Views)
            {
                result.Views[user] = views;
            }
            result.Shown.AddRange(batch.Shown);
        }
        return result;
    }

    // Init properties, not a positional record: EF translates filters and ordering on them after the projection.
    private sealed class PairRow
    {
        public required Pair Pair { get; init; }
        public required string Advisor { get; init; }
        public required string Client { get; init; }
        public required string AdvisorKey { get; init; }
        public required string ClientKey { get; init; }
        public required string Language { get; init; }
    }

    // Read-only: a push reads thousands of pairs and changes none, so nothing is tracked.
    private IQueryable<PairRow> Rows(IQueryable<Pair> pairs) =>
        from p in pairs.AsNoTracking()
        join a in db.Users on p.AdvisorId equals a.Id
        join c in db.Users on p.ClientId equals c.Id
        select new PairRow
        {
            Pair = p, Advisor = a.UserName!, Client = c.UserName!, AdvisorKey = a.NormalizedUserName!, ClientKey = c.NormalizedUserName!,
            Language = c.Language,
        };

    private async Task<ViewBatch> ViewsAsync(IReadOnlyCollection<Guid> viewers, List<PairRow> rows, long window, CancellationToken ct)
    {
        var period = options.CurrentValue.Period;
        var seen = viewers.ToHashSet();
        var shown = new List<(Guid User, Guid Pair, PairRole Role, PairRow Row)>();
        foreach (var row in rows)
        {
            if (seen.Contains(row.Pair.AdvisorId)) shown.Add((row.Pair.AdvisorId, row.Pair.Id, PairRole.Advisor, row));
            if (seen.Contains(row.Pair.ClientId)) shown.Add((row.Pair.ClientId, row.Pair.Id, PairRole.Client, row));
        }
        // Flags of every counterpart and pair in one round trip: active and online marks of this window and
        // the last, and the calling mark.
        var keys = new List<string>(shown.Count * 5);
        foreach (var (_, pairId, role, row) in shown)
        {
            var counterpart = role == PairRole.Advisor ? row.Pair.ClientId : row.Pair.AdvisorId;
            keys.AddRange([PresenceKey("active", counterpart, window), PresenceKey("active", counterpart, window - 1),
                PresenceKey("online", counterpart, window), PresenceKey("online", counterpart, window - 1), CallKey(pairId)]);
        }
        var flags = await store.GetManyAsync(keys);

        var words = new Dictionary<Guid, (string Client, string Advisor)>();
        var views = new Dictionary<Guid, List<PairView>>();
        for (var i = 0; i < shown.Count; i++)
        {
            var (user, pairId, role, row) = shown[i];
            if (!words.TryGetValue(pairId, out var pairWords))
            {
                using var mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secrets.Unprotect(SecretStore.PairPurpose, row.Pair.ProtectedSecret));
                words[pairId] = pairWords = WordDerivation.Words(mac, window, WordLists.For(row.Language));
            }
            var presence = flags[i * 5] is not null || flags[i * 5 + 1] is not null ? Presence.Active
                : flags[i * 5 + 2] is not null || flags[i * 5 + 3] is not null ? Presence.Online : Presence.Offline;
            var (mine, theirs) = role == PairRole.Advisor ? (pairWords.Advisor, pairWords.Client) : (pairWords.Client, pairWords.Advisor);
            var view = new PairView(pairId, role == PairRole.Advisor ? row.Client : row.Advisor, role == PairRole.Advisor ? Roles.Advisor : Roles.Client,
                mine, theirs, WordDerivation.WindowEnd(window, period), presence != Presence.Offline, presence, flags[i * 5 + 4] is not null);
            (views.TryGetValue(user, out var list) ? list : views[user] = []).Add(view);
        }
        return new ViewBatch(window, views, [.. shown.Select(s => (s.User, s.Pair))]);
    }

    /// <summary>
    /// The rule (docs/security.md, Call verification): audit that words were shown to a user in a window (pair and window, never the word),
    /// once per user, pair and window across nodes (a mark in the ephemeral store decides which showing is
    /// the first). The events are written in batches by <see cref="ShownAudit"/>.
    /// </summary>
    public async Task RecordShownAsync(ViewBatch batch, CancellationToken ct = default)
    {
        var window = batch.Window;
        var period = options.CurrentValue.Period;
        // Concurrently: on Redis the marks go out pipelined rather than one round trip after another.
        var first = await Task.WhenAll(batch.Shown.Select(async s =>
            (s.User, s.Pair, First: await store.SetIfAbsentAsync($"calls:shown:{s.User:N}:{s.Pair:N}:{window}", "1", period * 2))));
        foreach (var (user, pair, isFirst) in first)
        {
            if (isFirst)
            {
                shownAudit.Enqueue(user, pair, window);
            }
        }
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
        using var mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secrets.Unprotect(SecretStore.PairPurpose, found.Pair.ProtectedSecret));
        var list = WordLists.For(found.Language);
        var heard = spoken.Trim().ToLowerInvariant();
        var windows = now - DateTimeOffset.FromUnixTimeSeconds(window * (long)o.Period.TotalSeconds) < o.Grace ? new[] { window, window - 1 } : [window];
        var match = windows.Any(w => string.Equals(WordDerivation.Word(mac, theirs, w, list), heard, StringComparison.Ordinal));

        await audit.RecordAloneAsync(db, new(match ? AuditActions.CallWordMatched : AuditActions.PossibleImpersonation, userId, username, clientIp,
            AuditDetail.Of(new { pair_id = pairId, window, checked_role = theirs.ToString().ToLowerInvariant() })), ct);
        return match;
    }

    /// <summary>
    /// The tapped form of a check: the user compared the spoken word with the one on their screen and says
    /// whether it matched. Audited like a typed check, a "no" as a possible impersonation.
    /// </summary>
    public async Task<bool> ConfirmAsync(Guid userId, string? username, Guid pairId, bool matched, string? clientIp, CancellationToken ct = default)
    {
        if (!await db.Set<Pair>().AnyAsync(p => p.Id == pairId && (p.AdvisorId == userId || p.ClientId == userId), ct))
        {
            return false;
        }
        var window = CurrentWindow();
        await audit.RecordAloneAsync(db, new(matched ? AuditActions.CallWordMatched : AuditActions.PossibleImpersonation, userId, username, clientIp,
            AuditDetail.Of(new { pair_id = pairId, window, method = "tap" })), ct);
        return true;
    }

    /// <summary>The advisor marks "I am calling this client now"; the client's page shows it while it lasts.</summary>
    /// <summary>Marks the advisor's own pair as being called; the pair's client, or null when the pair is not the advisor's.</summary>
    public Task<Guid?> StartCallAsync(Guid advisorId, string? username, Guid pairId, CancellationToken ct = default) =>
        MarkCallAsync(advisorId, username, pairId, calling: true, ct);

    public Task<Guid?> EndCallAsync(Guid advisorId, string? username, Guid pairId, CancellationToken ct = default) =>
        MarkCallAsync(advisorId, username, pairId, calling: false, ct);

    /// <summary>
    /// Sets or clears the calling mark of the advisor's own pair and audits it; returns the pair's client to
    /// tell (<see cref="CallNotices"/>), or null when the pair is not the advisor's.
    /// </summary>
    private async Task<Guid?> MarkCallAsync(Guid advisorId, string? username, Guid pairId, bool calling, CancellationToken ct)
    {
        var clientId = await db.Set<Pair>().Where(p => p.Id == pairId && p.AdvisorId == advisorId).Select(p => (Guid?)p.ClientId).FirstOrDefaultAsync(ct);
        if (clientId is null)
        {
            return null;
        }
        await store.DeleteAsync(CallKey(pairId));
        if (calling)
        {
            await store.SetIfAbsentAsync(CallKey(pairId), time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                options.CurrentValue.CallDuration);
        }
        await audit.RecordAloneAsync(db, new(calling ? AuditActions.CallStarted : AuditActions.CallEnded, advisorId, username, null,
            AuditDetail.Of(new { pair_id = pairId })), ct);
        return clientId;
    }

    public Task RecordSessionTimeoutAsync(Guid userId, CancellationToken ct = default) =>
        audit.RecordAloneAsync(db, new(AuditActions.CallSessionTimedOut, userId, null, null, null), ct);

    /// <summary>
    /// Presence across nodes, in marks that expire: each node renews the "online" mark of its connected
    /// users at every window boundary, and a user's key presses and clicks set the "active" mark. A mark
    /// is kept for two windows, never deleted and rewritten, so no reader falls between a delete and a set.
    /// </summary>
    public Task MarkOnlineAsync(Guid userId) => MarkAsync("online", userId);

    /// <summary>True when this is the user's first activity mark of the window.</summary>
    public Task<bool> MarkActiveAsync(Guid userId) => MarkAsync("active", userId);

    private Task<bool> MarkAsync(string kind, Guid userId)
    {
        var period = options.CurrentValue.Period;
        return store.SetIfAbsentAsync(PresenceKey(kind, userId, CurrentWindow()), "1", period * 2);
    }

    /// <summary>The user and everyone they are paired with.</summary>
    public Task<List<Guid>> CounterpartsAsync(Guid userId, CancellationToken ct = default) =>
        db.Set<Pair>().Where(p => p.AdvisorId == userId || p.ClientId == userId)
            .Select(p => p.AdvisorId == userId ? p.ClientId : p.AdvisorId).Distinct().ToListAsync(ct);

    /// <summary>The user's pairs, each with the counterpart.</summary>
    public async Task<List<(Guid Pair, Guid Counterpart)>> PairsOfAsync(Guid userId, CancellationToken ct = default) =>
        [.. (await db.Set<Pair>().Where(p => p.AdvisorId == userId || p.ClientId == userId)
            .Select(p => new { p.Id, Counterpart = p.AdvisorId == userId ? p.ClientId : p.AdvisorId }).ToListAsync(ct))
            .Select(p => (p.Id, p.Counterpart))];

    private long CurrentWindow() => WordDerivation.WindowAt(time.GetUtcNow(), options.CurrentValue.Period);

    private static string PresenceKey(string kind, Guid userId, long window) => $"calls:{kind}:{userId:N}:{window}";

    private static string CallKey(Guid pairId) => $"calls:calling:{pairId:N}";

    private static PairRole Other(PairRole role) => role == PairRole.Advisor ? PairRole.Client : PairRole.Advisor;
}
