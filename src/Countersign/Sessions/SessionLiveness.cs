using System.Collections.Concurrent;
using Countersign.Ephemeral;
using Microsoft.Extensions.Options;

namespace Countersign.Sessions;

/// <summary>
/// Whether a session family is live, remembered per node so that an authenticated request does not read the
/// database (issue 18). A family that ends (logout, revocation, a disabled account or a new password) is
/// announced on the ephemeral store's publish/subscribe channel once its change commits, and every node
/// forgets it at once (within the message's delivery, milliseconds on Redis). Should a message be lost (Redis
/// restarted), an entry is trusted for <see cref="Longest"/> at most. Without a subscription nothing is
/// remembered: every check reads the database (fail closed). Nor in embedded mode (no Redis): there the CLI,
/// another process, ends sessions in the same SQLite file and has no channel to the server, and one node
/// reading its own file gains little from a cache.
/// </summary>
public sealed partial class SessionLiveness(IEphemeralStore store, IOptions<RedisOptions> redis, TimeProvider time, ILogger<SessionLiveness> log)
    : IHostedService
{
    private const string Channel = "sessions:ended";

    /// <summary>The longest an entry is trusted without a message: the bound on a lost announcement.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(30);

    /// <summary>Beyond this many remembered families the memory starts again (each entry is ~100 bytes).</summary>
    private const int MaxEntries = 200_000;

    // When entries past Longest were last dropped. Such an entry is never trusted again (IsActiveAsync reads the
    // database instead), so keeping it only costs memory: without the sweep every family ever checked stayed until
    // MaxEntries, and a node's memory grew with the sign-ins it had seen.
    private long _sweptAt;

    private readonly ConcurrentDictionary<Guid, Entry> _entries = new();
    private IAsyncDisposable? _subscription;

    // Bumped by every announcement before entries are dropped: a database read that began before an
    // announcement must not store what it read, since it may predate the change announced.
    private long _generation;

    private sealed record Entry(Guid UserId, bool Live, DateTimeOffset ExpiresAt, DateTimeOffset ReadAt);

    /// <summary>What the database says about a family: its user, whether it was revoked, and when it expires; null if there is none.</summary>
    public readonly record struct Row(Guid UserId, bool Revoked, DateTimeOffset ExpiresAt);

    public async Task<bool> IsActiveAsync(Guid familyId, Func<Task<Row?>> read)
    {
        var now = time.GetUtcNow();
        if (_subscription is not null && _entries.TryGetValue(familyId, out var known) && now - known.ReadAt < Longest)
        {
            return known.Live && now < known.ExpiresAt;
        }
        var generation = Interlocked.Read(ref _generation);
        if (await read() is not { } row)
        {
            return false;
        }
        if (_subscription is not null && Interlocked.Read(ref _generation) == generation)
        {
            if (_entries.Count >= MaxEntries)
            {
                _entries.Clear();
            }
            SweepStale(now);
            _entries[familyId] = new Entry(row.UserId, !row.Revoked, row.ExpiresAt, now);
        }
        return !row.Revoked && now < row.ExpiresAt;
    }

    /// <summary>How many families are remembered, trusted or not; for tests.</summary>
    internal int Count => _entries.Count;

    /// <summary>Drops the entries too old to be trusted, at most once per <see cref="Longest"/>.</summary>
    private void SweepStale(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref _sweptAt);
        if (now.UtcTicks - last < Longest.Ticks || Interlocked.CompareExchange(ref _sweptAt, now.UtcTicks, last) != last)
        {
            return;
        }
        foreach (var (id, entry) in _entries)
        {
            if (now - entry.ReadAt >= Longest)
            {
                // Only the entry seen: one stored again meanwhile by another request stays.
                _entries.TryRemove(new KeyValuePair<Guid, Entry>(id, entry));
            }
        }
    }

    /// <summary>Announces ended families, here and on every node. Call once the change is committed (<see cref="Storage.AfterCommit"/>).</summary>
    public Task FamilyEndedAsync(Guid familyId) => AnnounceAsync("family:" + familyId.ToString("N"));

    /// <summary>Announces that every family of a user ended.</summary>
    public Task UserSessionsEndedAsync(Guid userId) => AnnounceAsync("user:" + userId.ToString("N"));

    private async Task AnnounceAsync(string message)
    {
        Forget(message);
        try
        {
            await store.PublishAsync(Channel, message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The change is committed; other nodes drop their entry within Longest.
            AnnouncementFailed(log, e);
        }
    }

    private void Forget(string message)
    {
        Interlocked.Increment(ref _generation);
        if (message.StartsWith("family:", StringComparison.Ordinal) && Guid.TryParseExact(message[7..], "N", out var family))
        {
            _entries.TryRemove(family, out _);
        }
        else if (message.StartsWith("user:", StringComparison.Ordinal) && Guid.TryParseExact(message[5..], "N", out var user))
        {
            foreach (var (id, entry) in _entries)
            {
                if (entry.UserId == user)
                {
                    _entries.TryRemove(id, out _);
                }
            }
        }
        else
        {
            _entries.Clear(); // not ours to read: forget everything rather than guess
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(redis.Value.Configuration))
        {
            return;
        }
        try
        {
            _subscription = await store.SubscribeAsync(Channel, Forget);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // No announcements can reach this node: it remembers nothing and reads every check.
            SubscriptionFailed(log, e);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is { } subscription)
        {
            _subscription = null;
            await subscription.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = 4210, Level = LogLevel.Warning, Message = "Announcing an ended session to the other nodes failed; they notice within 30 s")]
    private static partial void AnnouncementFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4211, Level = LogLevel.Warning, Message = "Cannot subscribe to session announcements; every session check reads the database")]
    private static partial void SubscriptionFailed(ILogger logger, Exception exception);
}
