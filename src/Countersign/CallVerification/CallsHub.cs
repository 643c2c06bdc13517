using System.Collections.Concurrent;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

/// <summary>
/// The live side of call verification, at <c>/hubs/calls</c>: each user gets their pairs' words on connecting
/// and at every window boundary, and a client hears when an advisor marks a call. Messages to a user go
/// through <c>Clients.User</c>, which the Redis backplane carries to whichever node holds the connection.
/// </summary>
[Authorize(Policy = Policies.LiveSession)]
public sealed class CallsHub(PairService pairs, LocalConnections connections, TimeProvider time) : Hub
{
    public const string Path = "/hubs/calls";

    public override async Task OnConnectedAsync()
    {
        var userId = Context.User!.UserId();
        connections.Add(Context.ConnectionId, userId, time.GetUtcNow());
        await pairs.MarkOnlineAsync(userId);
        await Clients.Caller.SendAsync("words", await pairs.ForUserAsync(userId, null, 0, 200));
        await base.OnConnectedAsync();
    }

    /// <summary>The page calls this on the user's key presses and clicks (throttled); words keep coming while it does.</summary>
    public void Activity() => connections.Touch(Context.ConnectionId, time.GetUtcNow());

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        connections.Remove(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}

/// <summary>
/// The connections this node holds, with each one's last activity, so each node pushes rotations to its own
/// connections only and ends the ones left idle.
/// </summary>
public sealed class LocalConnections
{
    private readonly ConcurrentDictionary<string, (Guid User, DateTimeOffset LastActivity)> _connections = new();

    public void Add(string connectionId, Guid userId, DateTimeOffset now) => _connections[connectionId] = (userId, now);

    public void Touch(string connectionId, DateTimeOffset now)
    {
        if (_connections.TryGetValue(connectionId, out var entry))
        {
            _connections[connectionId] = entry with { LastActivity = now };
        }
    }

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    /// <summary>Takes out the connections idle since before <paramref name="cutoff"/>; they get no more words.</summary>
    public List<(string ConnectionId, Guid User)> TakeIdle(DateTimeOffset cutoff)
    {
        var idle = new List<(string, Guid)>();
        foreach (var (id, entry) in _connections)
        {
            if (entry.LastActivity < cutoff && _connections.TryRemove(new KeyValuePair<string, (Guid, DateTimeOffset)>(id, entry)))
            {
                idle.Add((id, entry.User));
            }
        }
        return idle;
    }

    /// <summary>The active connections, grouped by user.</summary>
    public IEnumerable<IGrouping<Guid, string>> ByUser() => _connections.GroupBy(c => c.Value.User, c => c.Key).ToList();
}

/// <summary>The hub's user id is the <c>sub</c> claim, as everywhere else.</summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User?.FindFirst("sub")?.Value;
}

/// <summary>At each window boundary, sends this node's connected users their new words.</summary>
internal sealed partial class WordRotation(
    IServiceScopeFactory scopes, IHubContext<CallsHub> hub, LocalConnections connections, IOptionsMonitor<CallVerificationOptions> options,
    TimeProvider time, ILogger<WordRotation> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var period = options.CurrentValue.Period;
            var now = time.GetUtcNow();
            var next = WordDerivation.WindowEnd(WordDerivation.WindowAt(now, period), period);
            try
            {
                await Task.Delay(next - now, time, stoppingToken);
                await PushAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One failed rotation must not stop the next ones; pages also refresh on reconnect.
                LogPushFailed(logger, e);
            }
        }
    }

    private async Task PushAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var pairs = scope.ServiceProvider.GetRequiredService<PairService>();
        // The seed's rule: words are shown only while the user is active; after the timeout the
        // call-verification session ends and the page asks the user to sign in again.
        foreach (var (connectionId, userId) in connections.TakeIdle(time.GetUtcNow() - options.CurrentValue.InactivityTimeout))
        {
            await hub.Clients.Client(connectionId).SendAsync("session_ended", ct);
            await pairs.RecordSessionTimeoutAsync(userId, ct);
        }
        var active = connections.ByUser();
        foreach (var user in active)
        {
            await pairs.MarkOnlineAsync(user.Key);
        }
        foreach (var user in active)
        {
            await hub.Clients.Clients([.. user]).SendAsync("words", await pairs.ForUserAsync(user.Key, null, 0, 200, ct), ct);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Pushing the new call-verification words failed")]
    private static partial void LogPushFailed(ILogger logger, Exception exception);
}
