using System.Globalization;
using Countersign.Ephemeral;
using Countersign.Operations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Countersign.Defences;

public enum RateLimitedRoute
{
    Login,
    Registration,
    SecondFactor,
    Enrolment,
}

/// <summary>
/// Windowed limits per client address and route, counted in the ephemeral store so every node sees
/// the same count. Checked before any password hash, so a flood cannot buy CPU time (ASVS 2.4.1).
/// </summary>
public sealed class RateLimiter(IEphemeralStore store, IOptionsMonitor<DefencesOptions> options, TimeProvider time)
{
    /// <summary>Counts the request; returns how long to wait when it is over the limit, else null.</summary>
    public async Task<TimeSpan?> HitAsync(RateLimitedRoute route, string? ip)
    {
        var o = options.CurrentValue.RateLimits;
        if (!o.Enabled)
        {
            return null;
        }
        var limit = route switch
        {
            RateLimitedRoute.Login => o.Login,
            RateLimitedRoute.Registration => o.Registration,
            RateLimitedRoute.SecondFactor => o.SecondFactor,
            _ => o.Enrolment,
        };
        // The window opens at the address's first request, so a burst cannot straddle two windows.
        var key = Key(route, ip);
        var now = time.GetUtcNow();
        var count = await store.IncrementAsync(key, o.Window);
        if (count == 1)
        {
            await store.SetIfAbsentAsync(key + ":opened", now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), o.Window);
        }
        if (count <= limit)
        {
            return null;
        }
        var opened = await store.GetAsync(key + ":opened") is { } ms
            ? DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture))
            : now;
        var wait = opened + o.Window - now;
        return wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1);
    }

    /// <summary>Each route's count in the address's current window, and its limit.</summary>
    public async Task<IReadOnlyList<RateLimitCount>> CountsAsync(string ip)
    {
        var o = options.CurrentValue.RateLimits;
        var routes = Enum.GetValues<RateLimitedRoute>();
        var counts = await store.GetManyAsync([.. routes.Select(r => Key(r, ip))]);
        return [.. routes.Select((r, i) => new RateLimitCount(Name(r), long.Parse(counts[i] ?? "0", CultureInfo.InvariantCulture), r switch
        {
            RateLimitedRoute.Login => o.Login,
            RateLimitedRoute.Registration => o.Registration,
            RateLimitedRoute.SecondFactor => o.SecondFactor,
            _ => o.Enrolment,
        }))];
    }

    /// <summary>Clears every route's window for the address.</summary>
    public async Task ResetAsync(string ip)
    {
        foreach (var route in Enum.GetValues<RateLimitedRoute>())
        {
            await store.DeleteAsync(Key(route, ip));
            await store.DeleteAsync(Key(route, ip) + ":opened");
        }
    }

    private static string Key(RateLimitedRoute route, string? ip) => $"ratelimit:{route}:{ip ?? "unknown"}";

    private static string Name(RateLimitedRoute route) => route switch
    {
        RateLimitedRoute.Login => "login",
        RateLimitedRoute.Registration => "registration",
        RateLimitedRoute.SecondFactor => "second_factor",
        _ => "enrolment",
    };
}

public sealed record RateLimitCount(string Route, long Count, int Limit);

/// <summary>Puts an endpoint behind a rate limit: 429, <c>Retry-After</c> and a problem body when over it.</summary>
public static class RateLimitExtensions
{
    public static TBuilder RateLimited<TBuilder>(this TBuilder builder, RateLimitedRoute route) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var limiter = http.RequestServices.GetRequiredService<RateLimiter>();
            if (await limiter.HitAsync(route, ClientInfo.IpOf(http)) is { } wait)
            {
                return TooManyRequests(http, wait);
            }
            return await next(context);
        });

    public static ProblemHttpResult TooManyRequests(HttpContext http, TimeSpan wait)
    {
        var seconds = (int)Math.Ceiling(wait.TotalSeconds);
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problems.Of(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many requests; try again later.",
            extensions: [new("retry_after_seconds", seconds)]);
    }
}
