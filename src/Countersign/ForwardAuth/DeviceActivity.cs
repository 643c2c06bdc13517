using System.Collections.Concurrent;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.ForwardAuth;

/// <summary>
/// "Last seen" of devices, gathered in memory by the verify paths and written in one batch every
/// <see cref="ForwardAuthOptions.LastSeenFlushInterval"/> (and at shutdown), never per request: a verify stays a
/// read. The sliding expiry reads the newer of the stored time and the one waiting here.
/// </summary>
public sealed partial class DeviceActivity(IServiceScopeFactory scopes, IOptionsMonitor<ForwardAuthOptions> options, TimeProvider time,
    ILogger<DeviceActivity> logger) : BackgroundService
{
    private ConcurrentDictionary<Guid, DateTimeOffset> _seen = new();

    /// <summary>
    /// Noted at most once a second per device: every verify of a busy device writing the same key would queue on one of
    /// the dictionary's locks, and on a small machine a preempted holder stalls them all. "Last seen" is shown to the
    /// minute and the sliding expiry counts in days, so a second lost is nothing.
    /// </summary>
    public void Seen(Guid deviceId, DateTimeOffset at)
    {
        if (!_seen.TryGetValue(deviceId, out var pending) || at - pending >= TimeSpan.FromSeconds(1))
        {
            _seen[deviceId] = at;
        }
    }

    public DateTimeOffset? Pending(Guid deviceId) => _seen.TryGetValue(deviceId, out var at) ? at : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.CurrentValue.LastSeenFlushInterval, time, stoppingToken);
                await FlushAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    /// <summary>Writes what was gathered: one statement per device, in one transaction. Returns how many devices.</summary>
    public async Task<int> FlushAsync(CancellationToken ct)
    {
        var batch = Interlocked.Exchange(ref _seen, new());
        if (batch.IsEmpty)
        {
            return 0;
        }
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            foreach (var (id, at) in batch)
            {
                // Only forward: a slower node's older time never moves it back.
                await db.Set<Device>().Where(d => d.Id == id && d.LastSeenAt < at).ExecuteUpdateAsync(s => s.SetProperty(d => d.LastSeenAt, at), ct);
            }
            await tx.CommitAsync(ct);
            return batch.Count;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Kept for the next round rather than lost; newer times already gathered win.
            foreach (var (id, at) in batch)
            {
                _seen.AddOrUpdate(id, at, (_, newer) => newer > at ? newer : at);
            }
            FlushFailed(logger, e);
            return 0;
        }
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "Could not write the devices' last-seen times; trying again at the next flush.")]
    private static partial void FlushFailed(ILogger logger, Exception exception);
}
