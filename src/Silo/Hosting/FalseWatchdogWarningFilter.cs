using System.Diagnostics;
using System.Globalization;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Drops one known false warning of Orleans' Watchdog: at start-up it reports that its participant check "has not
/// completed for" the machine's uptime, a span longer than the process has existed, so no stall can be behind it.
/// Only that category and that message with an impossible span are dropped; every other Watchdog warning (a real
/// stall is shorter than the process's life) passes untouched.
/// </summary>
internal sealed class FalseWatchdogWarningFilter(ILoggerProvider inner, Func<TimeSpan> processAge) : ILoggerProvider, ISupportExternalScope
{
    internal const string Category = "Orleans.Runtime.Watchdog";
    private const string MessageStart = "Participant check thread has not completed for ";

    /// <summary>Wraps every logger provider registered so far.</summary>
    public static void Decorate(IServiceCollection services)
    {
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(ILoggerProvider) || descriptor.IsKeyedService)
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<ILoggerProvider>(sp => new FalseWatchdogWarningFilter(Create(sp, descriptor), ProcessAge));
        }
    }

    /// <summary>Whether <paramref name="message"/> is the Watchdog's false warning for a process of age <paramref name="processAge"/>.</summary>
    internal static bool IsFalseWarning(string message, TimeSpan processAge)
    {
        if (!message.StartsWith(MessageStart, StringComparison.Ordinal))
        {
            return false;
        }

        var span = message.AsSpan(MessageStart.Length);
        var end = span.IndexOf(',');
        return end > 0
            && TimeSpan.TryParse(span[..end], CultureInfo.InvariantCulture, out var stalled)
            && stalled > processAge + TimeSpan.FromMinutes(1);
    }

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName == Category ? new Filtered(logger, processAge) : logger;
    }

    public void SetScopeProvider(IExternalScopeProvider scopeProvider)
    {
        if (inner is ISupportExternalScope scoped)
        {
            scoped.SetScopeProvider(scopeProvider);
        }
    }

    public void Dispose() => inner.Dispose();

    private static TimeSpan ProcessAge()
    {
        using var process = Process.GetCurrentProcess();
        return DateTime.Now - process.StartTime;
    }

    private static ILoggerProvider Create(IServiceProvider services, ServiceDescriptor descriptor) =>
        descriptor.ImplementationInstance as ILoggerProvider
        ?? descriptor.ImplementationFactory?.Invoke(services) as ILoggerProvider
        ?? (ILoggerProvider)ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!);

    private sealed class Filtered(ILogger inner, Func<TimeSpan> processAge) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning && IsFalseWarning(formatter(state, exception), processAge()))
            {
                return;
            }

            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
