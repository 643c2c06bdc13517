using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
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

    /// <summary>Whether Redis is used at all: decided when the services are composed (which store, the hub's backplane).</summary>
    public static bool IsConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration.ComposeTime<RedisOptions>(Section).Configuration);
}

internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Configuration))
        {
            try
            {
                ConfigurationOptions.Parse(options.Configuration);
            }
            catch (ArgumentException e)
            {
                errors.Add($"Redis:Configuration is not a valid StackExchange.Redis configuration string: {e.Message}");
            }
        }
        if (options.Timeout <= TimeSpan.Zero)
        {
            errors.Add("Redis:Timeout must be positive (for example 00:00:00.750).");
        }
        if (string.IsNullOrEmpty(options.KeyPrefix))
        {
            errors.Add("Redis:KeyPrefix must not be empty: every key and channel starts with it.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class EphemeralSetup
{
    public static IHostApplicationBuilder AddEphemeralStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RedisOptions>().BindValidated(RedisOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        if (!RedisOptions.IsConfigured(builder.Configuration))
        {
            builder.Services.AddSingleton<IEphemeralStore, MemoryEphemeralStore>();
            return builder;
        }
        builder.Services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            return ConnectionMultiplexer.Connect(RedisConfiguration(o.Configuration!, o.Timeout));
        });
        builder.Services.AddSingleton<IEphemeralStore>(sp => new RedisEphemeralStore(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
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
