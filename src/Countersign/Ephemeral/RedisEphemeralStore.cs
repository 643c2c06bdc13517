using StackExchange.Redis;

namespace Countersign.Ephemeral;

/// <summary>Shared by every node. Each operation is a single Redis command or script, hence atomic.</summary>
public sealed class RedisEphemeralStore(IConnectionMultiplexer redis, string keyPrefix = "cs:") : IEphemeralStore
{
    // INCR then PEXPIRE only on creation, in one script so a crash between them cannot leave a counter
    // that never expires.
    private static readonly LuaScript IncrementScript = LuaScript.Prepare(
        "local v = redis.call('INCRBY', @key, @by) if v == tonumber(@by) then redis.call('PEXPIRE', @key, @ms) end return v");

    private IDatabase Db => redis.GetDatabase();

    public async Task<long> IncrementAsync(string key, TimeSpan expiry, long by = 1) =>
        (long)await Db.ScriptEvaluateAsync(IncrementScript,
            new { key = (RedisKey)(keyPrefix + key), ms = (long)expiry.TotalMilliseconds, by });

    public Task<bool> SetIfAbsentAsync(string key, string value, TimeSpan expiry) =>
        Db.StringSetAsync(keyPrefix + key, value, expiry, When.NotExists);

    public async Task<string?> GetAsync(string key) => await Db.StringGetAsync(keyPrefix + key);

    public async Task<string?[]> GetManyAsync(IReadOnlyList<string> keys)
    {
        if (keys.Count == 0)
        {
            return [];
        }
        var values = await Db.StringGetAsync([.. keys.Select(k => (RedisKey)(keyPrefix + k))]);
        return [.. values.Select(v => (string?)v)];
    }

    public Task<bool> DeleteAsync(string key) => Db.KeyDeleteAsync(keyPrefix + key);

    public Task PublishAsync(string channel, string message) =>
        redis.GetSubscriber().PublishAsync(RedisChannel.Literal(keyPrefix + channel), message);

    public async Task<IAsyncDisposable> SubscribeAsync(string channel, Action<string> handler)
    {
        var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(keyPrefix + channel));
        queue.OnMessage(m => handler(m.Message.ToString()));
        return new Subscription(queue);
    }

    private sealed class Subscription(ChannelMessageQueue queue) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await queue.UnsubscribeAsync();
    }
}
