using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace OrleansShards.Tests.Sql;

/// <summary>A logger provider that keeps everything logged at every level: messages, structured values and exceptions.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _entries = new();

    public int Count => _entries.Count;

    /// <summary>Everything captured, an entry each (an entry may span lines).</summary>
    public IReadOnlyList<string> Entries => [.. _entries];

    /// <summary>Everything captured, one entry a line.</summary>
    public string Text() => string.Join('\n', _entries);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            owner._entries.Enqueue($"scope {category}: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var entry = new StringBuilder().Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception));
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    entry.Append(" | ").Append(key).Append('=').Append(value);
                }
            }

            if (exception is not null)
            {
                entry.Append(" | ").Append(exception);
            }

            owner._entries.Enqueue(entry.ToString());
        }
    }
}
