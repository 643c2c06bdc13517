using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Countersign.Tests.Infrastructure;

/// <summary>Warnings and errors logged by a host, with their category, kept for the test to read.</summary>
public sealed class WarningLog : ILoggerProvider
{
    public ConcurrentQueue<(string Category, int EventId, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(WarningLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Entries.Enqueue((category, eventId.Id, formatter(state, exception)));
            }
        }
    }
}
