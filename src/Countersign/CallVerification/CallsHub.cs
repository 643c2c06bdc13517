using System.Collections.Concurrent;
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
public sealed class CallsHub(PairService pairs, LocalConnections connections, TimeProvider time) : Hub
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
            await base.OnConnectedAsync();
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
        return await pairs.VerifyAsync(userId, Context.User!.Identity?.Name, pairId, word, ClientIp(), Context.ConnectionAborted) is { } match
            ? new VerifyResult(match)
            : null;
    }

    /// <summary>The tapped check: the user says whether the spoken word matched the one on their screen.</summary>
    public async Task<bool> Confirm(Guid pairId, bool matched)
    {
        var userId = await ActiveUserAsync();
        return await pairs.ConfirmAsync(userId, Context.User!.Identity?.Name, pairId, matched, ClientIp(), Context.ConnectionAborted);
    }

    /// <summary>An advisor marks "I am calling this client now"; false when the pair is not theirs as advisor.</summary>
    public async Task<bool> StartCall(Guid pairId)
    {
        var userId = await ActiveUserAsync();
        return await pairs.StartCallAsync(userId, Context.User!.Identity?.Name, pairId, Context.ConnectionAborted);
    }

    public async Task<bool> EndCall(Guid pairId)
    {
        var userId = await ActiveUserAsync();
        return await pairs.EndCallAsync(userId, Context.User!.Identity?.Name, pairId, Context.ConnectionAborted);
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        connections.Remove(Context.ConnectionId);
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
            await pairs.AnnounceActiveAsync(userId, Context.ConnectionAborted);
        }
    }

    private string? ClientIp() => Context.GetHttpContext()?.Connection.RemoteIpAddress?.ToString();
}

/// <summary>
/// The connections this node holds, with each one's last activity, so each node pushes rotations to its own
/// connections only and ends the ones left idle.
/// </summary>
public sealed class LocalConnections
{
    public sealed record Entry(Guid User, Guid? Session, DateTimeOffset LastActivity);

    private readonly ConcurrentDictionary<string, Entry> _connections = new();

    public void Add(string connectionId, Guid userId, Guid? sessionId, DateTimeOffset now) => _connections[connectionId] = new(userId, sessionId, now);

    /// <summary>Records activity; false when the connection is not (or no longer) live here.</summary>
    public bool Touch(string connectionId, DateTimeOffset now)
    {
        while (_connections.TryGetValue(connectionId, out var entry))
        {
            if (_connections.TryUpdate(connectionId, entry with { LastActivity = now }, entry))
            {
                return true;
            }
        }
        return false;
    }

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    /// <summary>Takes out the connections idle since before <paramref name="cutoff"/>; they get no more words.</summary>
    public List<(string ConnectionId, Entry Entry)> TakeIdle(DateTimeOffset cutoff)
    {
        var idle = new List<(string, Entry)>();
        foreach (var (id, entry) in _connections)
        {
            if (entry.LastActivity < cutoff && _connections.TryRemove(new KeyValuePair<string, Entry>(id, entry)))
            {
                idle.Add((id, entry));
            }
        }
        return idle;
    }

    /// <summary>The sign-ins behind the live connections.</summary>
    public HashSet<Guid> Sessions() => [.. _connections.Values.Select(e => e.Session).OfType<Guid>()];

    /// <summary>Takes out the connections of the given sign-ins.</summary>
    public List<string> TakeSessions(IReadOnlySet<Guid> sessions)
    {
        var taken = new List<string>();
        foreach (var (id, entry) in _connections)
        {
            if (entry.Session is { } s && sessions.Contains(s) && _connections.TryRemove(new KeyValuePair<string, Entry>(id, entry)))
            {
                taken.Add(id);
            }
        }
        return taken;
    }

    /// <summary>The live connections, grouped by user.</summary>
    public Dictionary<Guid, List<string>> ByUser() =>
        _connections.GroupBy(c => c.Value.User, c => c.Key).ToDictionary(g => g.Key, g => g.ToList());
}

/// <summary>The hub's user id is the <c>sub</c> claim, as everywhere else.</summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User?.FindFirst("sub")?.Value;
}

/// <summary>
/// At each window boundary, sends this node's connected users their new words; every few seconds in
/// between, ends the connections idle past the timeout, so no words stay on a screen much past it.
/// </summary>
internal sealed partial class WordRotation(
    IServiceScopeFactory scopes, IHubContext<CallsHub> hub, LocalConnections connections, IOptionsMonitor<CallVerificationOptions> options,
    TimeProvider time, ILogger<WordRotation> logger) : BackgroundService
{
    /// <summary>How often idle connections are looked for between rotations.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long before a boundary the next window's words are prepared (a quarter of the period at most):
    /// words are derived, not stored, so they can be ready before their window starts, and at the boundary
    /// only the sending is left. Presence and calling flags are read then too; changes in between reach
    /// the pages through their own messages.
    /// </summary>
    private TimeSpan PrepareAhead => TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, options.CurrentValue.Period.Ticks / 4));

    /// <summary>The next window's views, prepared before its boundary, and whose they are.</summary>
    private sealed record Prepared(PairService.ViewBatch Batch, HashSet<Guid> Users);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Connections get the current window's words when they connect; the first push is the next window's.
        var pushed = WordDerivation.WindowAt(time.GetUtcNow(), options.CurrentValue.Period);
        Prepared? prepared = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var period = options.CurrentValue.Period;
            var now = time.GetUtcNow();
            var window = WordDerivation.WindowAt(now, period);
            try
            {
                if (window != pushed)
                {
                    var ended = await EndIdleAsync(stoppingToken);
                    await PushAsync(window, prepared?.Batch.Window == window ? prepared : null, stoppingToken);
                    (pushed, prepared) = (window, null);
                    await RecordEndedAsync(ended, stoppingToken);
                    continue;
                }
                var untilBoundary = WordDerivation.WindowEnd(window, period) - now;
                if (prepared is null && untilBoundary <= PrepareAhead)
                {
                    prepared = await PrepareAsync(window + 1, stoppingToken);
                    continue;
                }
                // Prepared: wait for the boundary. Otherwise: sweep every few seconds until it is time to prepare.
                var wait = prepared is not null ? untilBoundary
                    : untilBoundary - PrepareAhead < SweepInterval ? untilBoundary - PrepareAhead : SweepInterval;
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time, stoppingToken);
                if (prepared is null)
                {
                    await RecordEndedAsync(await EndIdleAsync(stoppingToken), stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One failed rotation must not stop the next ones; pages also refresh on reconnect.
                LogPushFailed(logger, e);
                (pushed, prepared) = (window, null);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// Sign-ins ended elsewhere (sign-out, an administrator, a disabled account) end their connections here
    /// too before any more words go out: the hub checked the session only when the connection opened.
    /// </summary>
    private async Task EndRevokedAsync(IServiceProvider services, CancellationToken ct)
    {
        var inactive = await services.GetRequiredService<SessionService>().InactiveAmongAsync(connections.Sessions(), ct);
        foreach (var connectionId in connections.TakeSessions(inactive))
        {
            await hub.Clients.Client(connectionId).SendAsync("session_ended", ct);
        }
    }

    private async Task<Prepared> PrepareAsync(long window, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        await EndRevokedAsync(scope.ServiceProvider, ct);
        var users = connections.ByUser().Keys.ToHashSet();
        return new(await scope.ServiceProvider.GetRequiredService<PairService>().ForUsersAsync(users, window, ct), users);
    }

    /// <summary>
    /// The rule (docs/security.md, Call verification): words are shown only while the user is active. Idle connections leave the live set
    /// at once (no more words, their hub calls fail) and their pages are told; the database work of ending
    /// their sessions waits until the words of everyone else are out.
    /// </summary>
    private async Task<List<LocalConnections.Entry>> EndIdleAsync(CancellationToken ct)
    {
        var ended = new List<LocalConnections.Entry>();
        foreach (var (connectionId, entry) in connections.TakeIdle(time.GetUtcNow() - options.CurrentValue.InactivityTimeout))
        {
            ended.Add(entry);
            await hub.Clients.Client(connectionId).SendAsync("session_ended", ct);
        }
        return ended;
    }

    /// <summary>Revokes the idle connections' sign-ins (unless another live connection shares one) and audits the timeouts.</summary>
    private async Task RecordEndedAsync(List<LocalConnections.Entry> ended, CancellationToken ct)
    {
        if (ended.Count == 0)
        {
            return;
        }
        var stillUsed = connections.Sessions();
        await using var scope = scopes.CreateAsyncScope();
        var pairs = scope.ServiceProvider.GetRequiredService<PairService>();
        var sessions = scope.ServiceProvider.GetRequiredService<SessionService>();
        foreach (var entry in ended)
        {
            try
            {
                if (entry.Session is { } session && !stillUsed.Contains(session))
                {
                    await sessions.RevokeFamilyAsync(session, "inactive", ct);
                }
                await pairs.RecordSessionTimeoutAsync(entry.User, ct);
            }
            catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
            {
                LogEndFailed(logger, entry.User, e);
            }
        }
    }

    private async Task PushAsync(long window, Prepared? prepared, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var pairs = scope.ServiceProvider.GetRequiredService<PairService>();
        if (prepared is null)
        {
            await EndRevokedAsync(scope.ServiceProvider, ct);
        }
        var live = connections.ByUser();
        // Whoever connected after the views were prepared (or all, when nothing was prepared).
        var batch = await pairs.ForUsersAsync([.. live.Keys.Where(u => prepared?.Users.Contains(u) != true)], window, ct);
        if (prepared is not null)
        {
            foreach (var (user, views) in prepared.Batch.Views)
            {
                batch.Views[user] = views;
            }
            batch.Shown.AddRange(prepared.Batch.Shown.Where(s => live.ContainsKey(s.User)));
        }
        var now = time.GetUtcNow();
        // One connection at a time: the in-memory lifetime manager finds a single connection by id, but sends
        // to a list of them by walking every connection it holds, which made a push quadratic in the number
        // of connections (10,000 users: p50 13.7 s; see docs/benchmarks.md).
        await Task.WhenAll(live.SelectMany(user => user.Value.Select(connectionId =>
            hub.Clients.Client(connectionId).SendAsync("words", batch.Views.GetValueOrDefault(user.Key) ?? [], now, ct))));
        // After the words: presence marks and the "words shown" audit.
        await Task.WhenAll(live.Keys.Select(pairs.MarkOnlineAsync));
        await pairs.RecordShownAsync(batch, ct);
    }

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Ending the idle call-verification session of user {UserId} failed")]
    private static partial void LogEndFailed(ILogger logger, Guid userId, Exception exception);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Pushing the new call-verification words failed")]
    private static partial void LogPushFailed(ILogger logger, Exception exception);
}
