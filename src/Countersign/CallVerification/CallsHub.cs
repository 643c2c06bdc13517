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
public sealed class CallsHub(PairService pairs, LocalConnections connections) : Hub
{
    public const string Path = "/hubs/calls";

    public override async Task OnConnectedAsync()
    {
        var userId = Context.User!.UserId();
        connections.Add(userId);
        await pairs.MarkOnlineAsync(userId);
        await Clients.Caller.SendAsync("words", await pairs.ForUserAsync(userId, null, 0, 200));
        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        connections.Remove(Context.User!.UserId());
        return base.OnDisconnectedAsync(exception);
    }
}

/// <summary>The users connected to this node, so each node pushes rotations to its own connections only.</summary>
public sealed class LocalConnections
{
    private readonly ConcurrentDictionary<Guid, int> _users = new();

    public void Add(Guid userId) => _users.AddOrUpdate(userId, 1, (_, n) => n + 1);

    public void Remove(Guid userId)
    {
        if (_users.AddOrUpdate(userId, 0, (_, n) => n - 1) <= 0)
        {
            _users.TryRemove(new KeyValuePair<Guid, int>(userId, 0));
        }
    }

    public IReadOnlyCollection<Guid> Users => [.. _users.Keys];
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
        var users = connections.Users;
        foreach (var userId in users)
        {
            await pairs.MarkOnlineAsync(userId);
        }
        foreach (var userId in users)
        {
            await hub.Clients.User(userId.ToString()).SendAsync("words", await pairs.ForUserAsync(userId, null, 0, 200, ct), ct);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Pushing the new call-verification words failed")]
    private static partial void LogPushFailed(ILogger logger, Exception exception);
}
