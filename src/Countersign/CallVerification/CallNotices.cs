using Microsoft.AspNetCore.SignalR;

namespace Countersign.CallVerification;

/// <summary>
/// Tells users, on whichever node holds their connection (<c>Clients.User</c> rides the Redis backplane),
/// what changed for them: an advisor marked a call, the counterpart checked their word, a client's language changed both words, a counterpart
/// became active. <see cref="PairService"/> decides and records; this only sends.
/// </summary>
public sealed class CallNotices(PairService pairs, IHubContext<CallsHub> hub, TimeProvider time)
{
    /// <summary>Marks the call and tells the pair's client. False when the pair is not the advisor's.</summary>
    public async Task<bool> StartCallAsync(Guid advisorId, string? username, Guid pairId, CancellationToken ct = default) =>
        await NotifyAsync(await pairs.StartCallAsync(advisorId, username, pairId, ct), pairId, calling: true, ct);

    public async Task<bool> EndCallAsync(Guid advisorId, string? username, Guid pairId, CancellationToken ct = default) =>
        await NotifyAsync(await pairs.EndCallAsync(advisorId, username, pairId, ct), pairId, calling: false, ct);

    /// <summary>
    /// Checks the word the user heard and tells the counterpart how it went, so an advisor whose client heard a
    /// wrong word sees it on the console at once, whatever node either of them is on. Null when the pair is not the user's.
    /// </summary>
    public async Task<bool?> VerifyAsync(Guid userId, string? username, Guid pairId, string spoken, string? clientIp, CancellationToken ct = default)
    {
        var match = await pairs.VerifyAsync(userId, username, pairId, spoken, clientIp, ct);
        if (match is { } checkedWord)
        {
            await TellCounterpartAsync(userId, pairId, checkedWord, ct);
        }
        return match;
    }

    /// <summary>The tapped check, told to the counterpart as <see cref="VerifyAsync"/> is. False when the pair is not the user's.</summary>
    public async Task<bool> ConfirmAsync(Guid userId, string? username, Guid pairId, bool matched, string? clientIp, CancellationToken ct = default)
    {
        if (!await pairs.ConfirmAsync(userId, username, pairId, matched, clientIp, ct))
        {
            return false;
        }
        await TellCounterpartAsync(userId, pairId, matched, ct);
        return true;
    }

    private async Task TellCounterpartAsync(Guid userId, Guid pairId, bool matched, CancellationToken ct)
    {
        foreach (var (_, counterpart) in (await pairs.PairsOfAsync(userId, ct)).Where(p => p.Pair == pairId))
        {
            await hub.Clients.User(counterpart.ToString()).SendAsync("check", new CheckNotice(pairId, matched), ct);
        }
    }

    /// <summary>
    /// Sends the user and their counterparts their current words again: after the client's language
    /// changed, both words of their pairs did.
    /// </summary>
    public async Task WordsChangedAsync(Guid userId, CancellationToken ct = default)
    {
        foreach (var user in (await pairs.CounterpartsAsync(userId, ct)).Append(userId))
        {
            await hub.Clients.User(user.ToString()).SendAsync("words", await pairs.ForUserAsync(user, null, 0, 200, ct), time.GetUtcNow(), ct);
        }
    }

    /// <summary>Tells the user's counterparts that the user is active now.</summary>
    public async Task AnnounceActiveAsync(Guid userId, CancellationToken ct = default)
    {
        foreach (var (pair, counterpart) in await pairs.PairsOfAsync(userId, ct))
        {
            await hub.Clients.User(counterpart.ToString()).SendAsync("presence", new PresenceNotice(pair, Presence.Active), ct);
        }
    }

    private async Task<bool> NotifyAsync(Guid? client, Guid pairId, bool calling, CancellationToken ct)
    {
        if (client is null)
        {
            return false;
        }
        await hub.Clients.User(client.Value.ToString()).SendAsync("call", new CallNotice(pairId, calling), ct);
        return true;
    }
}
