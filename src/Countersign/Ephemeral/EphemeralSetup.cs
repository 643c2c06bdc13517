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
        builder.Services.AddSingleton<IConnectionMultiplexer>(sp => ConnectionMultiplexer.Connect(sp.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration!));
        builder.Services.AddSingleton<IEphemeralStore>(sp => new RedisEphemeralStore(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
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
