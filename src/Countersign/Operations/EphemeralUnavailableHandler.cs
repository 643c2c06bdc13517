using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;

namespace Countersign.Operations;

/// <summary>
/// Lockout counters, rate limits and replay guards live in Redis; without them no attempt can be judged, so
/// every request that needs them fails closed with 503 <c>ephemeral_store_unavailable</c> (never a 500, never
/// an attempt let through unchecked), and clients may retry. Registered with the other error handlers
/// (<see cref="HttpHardening"/>); without Redis it never sees one of its exceptions.
/// </summary>
internal sealed partial class EphemeralUnavailableHandler(ILogger<EphemeralUnavailableHandler> logger) : IExceptionHandler
{
    private long _lastWarning;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is not (RedisException or RedisTimeoutException))
        {
            return false;
        }
        var now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _lastWarning) > 1000)
        {
            Interlocked.Exchange(ref _lastWarning, now);
            LogUnavailable(logger, exception.GetType().Name);
        }
        http.Response.Headers.RetryAfter = "1";
        await Problems.Of(StatusCodes.Status503ServiceUnavailable, ErrorCodes.EphemeralStoreUnavailable,
            "The service is temporarily unavailable. Try again shortly.").ExecuteAsync(http);
        return true;
    }

    [LoggerMessage(EventId = 43, Level = LogLevel.Error, Message = "Redis is unavailable ({Kind}); requests that need it get 503 until it is back")]
    private static partial void LogUnavailable(ILogger logger, string kind);
}
