using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Countersign.Ephemeral;

/// <summary>Section <c>Redis</c>: when <see cref="Configuration"/> is set, ephemeral state lives in Redis.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key and channel, so several deployments can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "cs:";

    /// <summary>
    /// Connect, command and reconnect-probe timeout. Short, so a dead Redis fails a request within a second
    /// (503 <c>ephemeral_store_unavailable</c>) instead of holding it for StackExchange.Redis's 5 s default.
    /// A <c>connectTimeout</c>/<c>syncTimeout</c>/<c>asyncTimeout</c> in <see cref="Configuration"/> wins.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(750);
}

public static class EphemeralSetup
{
    public static IHostApplicationBuilder AddEphemeralStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section);
        var redis = builder.Configuration.GetSection(RedisOptions.Section).Get<RedisOptions>()?.Configuration;
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton<IEphemeralStore, MemoryEphemeralStore>();
            return builder;
        }
        var timeout = builder.Configuration.GetSection(RedisOptions.Section).Get<RedisOptions>()?.Timeout ?? new RedisOptions().Timeout;
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(RedisConfiguration(redis, timeout)));
        builder.Services.AddSingleton<IEphemeralStore>(sp => new RedisEphemeralStore(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<RedisOptions>>().Value.KeyPrefix));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// Fail closed, fast: commands fail at once while the connection is down (no backlog that holds them for the
    /// timeout), the multiplexer keeps re-probing in the background and closes the circuit when Redis is back, and
    /// a Redis that is down at start does not stop the server from starting (it answers 503 until Redis is up).
    /// </summary>
    internal static ConfigurationOptions RedisConfiguration(string configuration, TimeSpan timeout)
    {
        var options = ConfigurationOptions.Parse(configuration);
        var ms = (int)timeout.TotalMilliseconds;
        if (!configuration.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.ConnectTimeout = ms;
        }
        if (!configuration.Contains("syncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.SyncTimeout = ms;
        }
        if (!configuration.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.AsyncTimeout = ms;
        }
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ReconnectRetryPolicy = new LinearRetry(ms);
        return options;
    }
}

/// <summary>
/// Ready when Redis answers; degraded (still ready, with a warning) when it writes no append-only file, because a
/// restart then forgets lockouts and replay guards (docs/operations.md).
/// </summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            var ping = $"ping {latency.TotalMilliseconds:F1} ms";
            return await PersistsAsync() is false
                ? HealthCheckResult.Degraded($"{ping}; Redis persistence is off (appendonly no): a Redis restart loses lockouts and replay guards")
                : HealthCheckResult.Healthy(ping);
        }
        catch (RedisException e)
        {
            return HealthCheckResult.Unhealthy("Redis does not answer.", e);
        }
    }

    /// <summary>
    /// Whether Redis writes an append-only file; null when it will not say. Without AOF a restart loses the lockouts
    /// and replay guards written since the last snapshot, or all of them when there are no snapshots.
    /// </summary>
    private async Task<bool?> PersistsAsync()
    {
        try
        {
            // From a script: StackExchange.Redis refuses INFO and CONFIG outside its admin mode, which this
            // connection has no other use for.
            var info = (string?)await redis.GetDatabase().ScriptEvaluateAsync(InfoPersistence);
            var aof = info?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("aof_enabled:", StringComparison.Ordinal));
            return aof is null ? null : aof.EndsWith(":1", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return null;
        }
    }

    private const string InfoPersistence = "return redis.call('INFO', 'persistence')";
}
