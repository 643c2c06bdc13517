using System.Collections.Concurrent;
using System.Net;
using Countersign.Audit;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Countersign.Tests.SignIn;

/// <summary>Keeps every log entry of the security-events category.</summary>
public sealed class CapturedLog : ILoggerProvider
{
    public ConcurrentQueue<(int EventId, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName == typeof(SecurityEvents).FullName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog log, bool keep) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => keep;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (keep)
            {
                log.Entries.Enqueue((eventId.Id, formatter(state, exception)));
            }
        }
    }
}

public sealed class SecurityEventsServer() : TestServer(Database.Sqlite)
{
    public CapturedLog Log { get; } = new();

    protected override void Configure(Dictionary<string, string?> settings) =>
        settings["Logging:LogLevel:Countersign.Audit.SecurityEvents"] = "Information";

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Log);
}

public sealed class SecurityEventsTests(SecurityEventsServer server) : ApiSuiteBase(server), IClassFixture<SecurityEventsServer>
{
    private CapturedLog Log => ((SecurityEventsServer)Server).Log;

    [Fact]
    public async Task A_lockout_and_a_refresh_token_reuse_reach_the_log_with_their_event_ids_and_no_secret()
    {
        var name = await RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            await Login(name, "wrong guess " + i);
        }
        var tokens = await LoginAsync(await RegisterAsync());
        var refresh = tokens.GetProperty("refresh_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await Client.PostJson("/api/auth/refresh", new { refresh_token = refresh })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/refresh", new { refresh_token = refresh })).StatusCode);

        Assert.Contains(Log.Entries, e => e.EventId == SecurityEvents.Ids.LockedOut && e.Message.Contains(name, StringComparison.Ordinal));
        Assert.Contains(Log.Entries, e => e.EventId == SecurityEvents.Ids.RefreshReuse);
        Assert.DoesNotContain(Log.Entries, e => e.Message.Contains("wrong guess", StringComparison.Ordinal) || e.Message.Contains(refresh, StringComparison.Ordinal));
    }
}
