using Microsoft.AspNetCore.Diagnostics;
using Npgsql;
using StackExchange.Redis;

namespace Countersign.Operations;

/// <summary>
/// A request that needs a server that does not answer fails closed with a 503 problem and <c>Retry-After: 1</c>,
/// never a 500 and never a decision taken without it:
/// <list type="bullet">
/// <item>Redis (lockout counters, rate limits, replay guards): without them no attempt can be judged,
/// <c>ephemeral_store_unavailable</c>;</item>
/// <item>PostgreSQL down or restarting (a refused or broken connection, the server shutting down or starting up):
/// <c>database_unavailable</c>. Nothing was committed, so the client may simply retry.</item>
/// </list>
/// Registered with the other error handlers (<see cref="HttpHardening"/>). Each kind logs one error a second at most.
/// </summary>
internal sealed partial class DependencyUnavailableHandler(ILogger<DependencyUnavailableHandler> logger) : IExceptionHandler
{
    private long _lastRedisWarning;
    private long _lastDatabaseWarning;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        string code;
        if (exception is RedisException or RedisTimeoutException)
        {
            code = ErrorCodes.EphemeralStoreUnavailable;
            if (Due(ref _lastRedisWarning))
            {
                LogRedisUnavailable(logger, exception.GetType().Name);
            }
        }
        else if (DatabaseDown(exception) is { } database)
        {
            code = ErrorCodes.DatabaseUnavailable;
            if (Due(ref _lastDatabaseWarning))
            {
                LogDatabaseUnavailable(logger, database.SqlState ?? database.InnerException?.GetType().Name ?? database.GetType().Name);
            }
        }
        else
        {
            return false;
        }
        http.Response.Headers.RetryAfter = "1";
        await Problems.Of(StatusCodes.Status503ServiceUnavailable, code,
            "The service is temporarily unavailable. Try again shortly.").ExecuteAsync(http);
        return true;
    }

    /// <summary>
    /// The PostgreSQL error behind <paramref name="exception"/> (EF Core wraps it) when it means the database cannot
    /// be reached right now: a connection that could not be made or broke (Npgsql marks those transient, and class 08
    /// is "connection exception"), or the server shutting down or not yet accepting connections (57P01–57P03).
    /// A constraint violation or a bad statement is not one of them: that stays a 500, a bug to fix.
    /// </summary>
    private static NpgsqlException? DatabaseDown(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException p)
            {
                return p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState is "57P01" or "57P02" or "57P03" ? p : null;
            }
            if (e is NpgsqlException { IsTransient: true } n)
            {
                return n;
            }
        }
        return null;
    }

    private static bool Due(ref long last)
    {
        var now = Environment.TickCount64;
        if (now - Interlocked.Read(ref last) <= 1000)
        {
            return false;
        }
        Interlocked.Exchange(ref last, now);
        return true;
    }

    [LoggerMessage(EventId = 43, Level = LogLevel.Error, Message = "Redis is unavailable ({Kind}); requests that need it get 503 until it is back")]
    private static partial void LogRedisUnavailable(ILogger logger, string kind);

    [LoggerMessage(EventId = 44, Level = LogLevel.Error, Message = "PostgreSQL is unavailable ({Kind}); requests that need it get 503 until it is back")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string kind);
}
