using System.Collections.Concurrent;
using Countersign.Operations;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

/// <summary>
/// At each window boundary, sends this node's connected users their new words; every few seconds in
/// between, ends the connections idle past the timeout, so no words stay on a screen much past it.
/// </summary>
internal sealed partial class WordRotation(
    IServiceScopeFactory scopes, IHubContext<CallsHub> hub, LocalConnections connections, IOptionsMonitor<CallVerificationOptions> options,
    CountersignMetrics metrics, TimeProvider time, ILogger<WordRotation> logger) : BackgroundService
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
    /// The seed's rule: words are shown only while the user is active. Idle connections leave the live set
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
        metrics.WordsPushed(live.Sum(user => user.Value.Count));
        // After the words: presence marks and the "words shown" audit.
        await Task.WhenAll(live.Keys.Select(pairs.MarkOnlineAsync));
        await pairs.RecordShownAsync(batch, ct);
    }

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Ending the idle call-verification session of user {UserId} failed")]
    private static partial void LogEndFailed(ILogger logger, Guid userId, Exception exception);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Pushing the new call-verification words failed")]
    private static partial void LogPushFailed(ILogger logger, Exception exception);
}
