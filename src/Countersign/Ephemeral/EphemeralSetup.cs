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
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis));
        builder.Services.AddSingleton<IEphemeralStore>(sp => new RedisEphemeralStore(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<RedisOptions>>().Value.KeyPrefix));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: ["ready"]);
        return builder;
    }
}

internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            return HealthCheckResult.Healthy($"ping {latency.TotalMilliseconds:F1} ms");
        }
        catch (RedisException e)
        {
            return HealthCheckResult.Unhealthy("Redis does not answer.", e);
        }
    }
}
