using System.Collections.Concurrent;

namespace Countersign.Ephemeral;

/// <summary>The embedded default: one process, one dictionary, expiry checked on access.</summary>
public sealed class MemoryEphemeralStore(TimeProvider time) : IEphemeralStore
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new();
    private readonly ConcurrentDictionary<string, ImmutableHandlers> _channels = new();
    private readonly Lock _sweepLock = new();
    private long _operations;

    public Task<long> IncrementAsync(string key, TimeSpan expiry, long by = 1)
    {
        Sweep();
        var now = time.GetUtcNow();
        var first = by.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var entry = _entries.AddOrUpdate(key,
            _ => new Entry(first, now + expiry),
            (_, old) => old.ExpiresAt <= now
                ? new Entry(first, now + expiry)
                : old with { Value = (long.Parse(old.Value, System.Globalization.CultureInfo.InvariantCulture) + by).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return Task.FromResult(long.Parse(entry.Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    public Task<bool> SetIfAbsentAsync(string key, string value, TimeSpan expiry)
    {
        Sweep();
        var now = time.GetUtcNow();
        var candidate = new Entry(value, now + expiry);
        while (true)
        {
            if (_entries.TryAdd(key, candidate))
            {
                return Task.FromResult(true);
            }
            if (_entries.TryGetValue(key, out var existing))
            {
                if (existing.ExpiresAt > now)
                {
                    return Task.FromResult(false);
                }
                if (_entries.TryUpdate(key, candidate, existing))
                {
                    return Task.FromResult(true);
                }
            }
        }
    }

    public Task<string?> GetAsync(string key) =>
        Task.FromResult(_entries.TryGetValue(key, out var e) && e.ExpiresAt > time.GetUtcNow() ? e.Value : null);

    public Task<string?[]> GetManyAsync(IReadOnlyList<string> keys)
    {
        var now = time.GetUtcNow();
        return Task.FromResult(keys.Select(k => _entries.TryGetValue(k, out var e) && e.ExpiresAt > now ? e.Value : null).ToArray());
    }

    public Task<bool> DeleteAsync(string key) =>
        Task.FromResult(_entries.TryRemove(key, out var e) && e.ExpiresAt > time.GetUtcNow());

    public Task PublishAsync(string channel, string message)
    {
        if (_channels.TryGetValue(channel, out var handlers))
        {
            foreach (var handler in handlers.Items)
            {
                handler(message);
            }
        }
        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> SubscribeAsync(string channel, Action<string> handler)
    {
        _channels.AddOrUpdate(channel, _ => new([handler]), (_, h) => new([.. h.Items, handler]));
        return Task.FromResult<IAsyncDisposable>(new Subscription(() =>
            _channels.AddOrUpdate(channel, _ => new([]), (_, h) => new([.. h.Items.Where(x => x != handler)]))));
    }

    // Expired keys are removed now and then, so a flood of one-off keys cannot grow memory for ever.
    private void Sweep()
    {
        if (Interlocked.Increment(ref _operations) % 4096 != 0)
        {
            return;
        }
        lock (_sweepLock)
        {
            var now = time.GetUtcNow();
            foreach (var (key, entry) in _entries)
            {
                if (entry.ExpiresAt <= now)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                }
            }
        }
    }

    private sealed record Entry(string Value, DateTimeOffset ExpiresAt);

    private sealed record ImmutableHandlers(Action<string>[] Items);

    private sealed class Subscription(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}
