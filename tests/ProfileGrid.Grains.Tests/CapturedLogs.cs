using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ProfileGrid.Grains.Tests;

/// <summary>One log entry written in a test silo.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, int EventId, string Message);

/// <summary>
/// Test-only logger provider that keeps what the silo logs (in-process silos share this static list), so a test can
/// assert what an operator would read. Filter by something unique to the test (a tenant): test classes run in parallel.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    public static ConcurrentQueue<CapturedLog> Entries { get; } = new();

    public static IReadOnlyList<CapturedLog> Where(int eventId, string contains) =>
        Entries.Where(e => e.EventId == eventId && e.Message.Contains(contains, StringComparison.Ordinal)).ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && category.StartsWith("ProfileGrid", StringComparison.Ordinal))
            {
                Entries.Enqueue(new CapturedLog(category, logLevel, eventId.Id, formatter(state, exception)));
            }
        }
    }
}
