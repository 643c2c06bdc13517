namespace Countersign.Ephemeral;

/// <summary>
/// Short-lived shared state: counters (lockout, rate limits), replay guards and presence. Two
/// implementations, in-memory for one node and Redis for many, pass the same test suite. Every
/// operation is atomic so that parallel requests, on one node or many, see one consistent value.
/// </summary>
public interface IEphemeralStore
{
    /// <summary>Adds <paramref name="by"/> (one, or a negative number to count down) and returns the new value; the expiry is set when the key is created.</summary>
    Task<long> IncrementAsync(string key, TimeSpan expiry, long by = 1);

    /// <summary>Stores the value only if the key is absent; true when this call stored it.</summary>
    Task<bool> SetIfAbsentAsync(string key, string value, TimeSpan expiry);

    Task<string?> GetAsync(string key);

    /// <summary>Several values in one round trip (Redis MGET), in the order of the keys; null where absent.</summary>
    Task<string?[]> GetManyAsync(IReadOnlyList<string> keys);

    Task<bool> DeleteAsync(string key);

    Task PublishAsync(string channel, string message);

    /// <summary>Calls <paramref name="handler"/> for every message published on the channel until disposed.</summary>
    Task<IAsyncDisposable> SubscribeAsync(string channel, Action<string> handler);
}
