using System.Collections.Concurrent;
using Countersign.Operations;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

/// <summary>
/// The live side of call verification, at <c>/hubs/calls</c>: each user gets their pairs' words on connecting
/// and at every window boundary, hears when an advisor marks a call and when a counterpart becomes active,
/// and checks words here. Messages to a user go through <c>Clients.User</c>, which the Redis backplane
/// carries to whichever node holds the connection. Pages reach it with their cookie: SameSite=Lax keeps
/// other sites' WebSocket and negotiate requests from carrying it, and no CORS policy lets them read.
/// </summary>
[Authorize(Policy = Policies.LiveSession)]
public sealed class CallsHub(PairService pairs, CallNotices notices, LocalConnections connections, CountersignMetrics metrics,
    TimeProvider time) : Hub
{
    public const string Path = "/hubs/calls";

    /// <summary>Longer than any word; a longer "word" is refused before it reaches the audit log.</summary>
    private const int MaxWordLength = 64;

    public override async Task OnConnectedAsync()
    {
        var userId = Context.User!.UserId();
        connections.Add(Context.ConnectionId, userId, Context.User!.SessionId(), time.GetUtcNow());
        try
        {
            await pairs.MarkOnlineAsync(userId);
            await MarkActiveAsync(userId);
            await Clients.Caller.SendAsync("words", await pairs.ForUserAsync(userId, null, 0, 200), time.GetUtcNow());
            metrics.WordsPushed(1);
            await base.OnConnectedAsync();
            metrics.HubConnected();
        }
        catch
        {
            // SignalR does not call OnDisconnectedAsync when this throws: no entry may stay behind.
            connections.Remove(Context.ConnectionId);
            throw;
        }
    }

    /// <summary>The page calls this on the user's key presses and clicks (throttled); words keep coming while it does.</summary>
    public Task Activity() => ActiveUserAsync();

    /// <summary>Checks the word the counterpart spoke; null when the pair is not the caller's.</summary>
    public async Task<VerifyResult?> Verify(Guid pairId, string word)
    {
        if (string.IsNullOrWhiteSpace(word) || word.Length > MaxWordLength)
        {
            throw new HubException("invalid_request: word is required and at most 64 characters.");
        }
        var userId = await ActiveUserAsync();
        return await notices.VerifyAsync(userId, Context.User!.Identity?.Name, pairId, word, ClientIp(), Context.ConnectionAborted) is { } match
            ? new VerifyResult(match)
            : null;
    }

    /// <summary>The tapped check: the user says whether the spoken word matched the one on their screen.</summary>
    public async Task<bool> Confirm(Guid pairId, bool matched)
    {
        var userId = await ActiveUserAsync();
        return await notices.ConfirmAsync(userId, Context.User!.Identity?.Name, pairId, matched, ClientIp(), Context.ConnectionAborted);
    }

    /// <summary>An advisor marks "I am calling this client now"; false when the pair is not theirs as advisor.</summary>
    public async Task<bool> StartCall(Guid pairId)
    {
        var userId = await ActiveUserAsync();
        return await notices.StartCallAsync(userId, Context.User!.Identity?.Name, pairId, Context.ConnectionAborted);
    }

    public async Task<bool> EndCall(Guid pairId)
    {
        var userId = await ActiveUserAsync();
        return await notices.EndCallAsync(userId, Context.User!.Identity?.Name, pairId, Context.ConnectionAborted);
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        connections.Remove(Context.ConnectionId);
        // SignalR calls this only for a connection whose OnConnectedAsync succeeded, so the gauge stays balanced.
        metrics.HubDisconnected();
        return base.OnDisconnectedAsync(exception);
    }

    /// <summary>
    /// The caller, while their call-verification session lasts, with this call counted as activity. After the
    /// inactivity timeout the connection is out of <see cref="LocalConnections"/> and its session revoked: it
    /// may still be open, but gets nothing.
    /// </summary>
    private async Task<Guid> ActiveUserAsync()
    {
        if (!connections.Touch(Context.ConnectionId, time.GetUtcNow()))
        {
            throw new HubException("session_ended: sign in again.");
        }
        var userId = Context.User!.UserId();
        await MarkActiveAsync(userId);
        return userId;
    }

    private async Task MarkActiveAsync(Guid userId)
    {
        if (await pairs.MarkActiveAsync(userId))
        {
            await notices.AnnounceActiveAsync(userId, Context.ConnectionAborted);
        }
    }

    private string? ClientIp() => Context.GetHttpContext() is { } http ? ClientInfo.IpOf(http) : null;
}

/// <summary>The hub's user id is the <c>sub</c> claim, as everywhere else.</summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User?.FindFirst("sub")?.Value;
}
