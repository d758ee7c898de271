using Microsoft.AspNetCore.HttpLogging;
using Microsoft.Extensions.Configuration.Memory;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// What the server writes to its log by default: warnings from Orleans and ASP.NET Core, information from
/// OrleansShards, one start-up banner instead of Orleans' hundreds of start-up lines, and one line per request
/// only when <c>Shards:RequestLogging</c> is true. Every level stays overridable through <c>Logging:LogLevel</c>
/// in appsettings, the environment or the command line.
/// </summary>
public static class ShardsLogging
{
    /// <summary>The setting that turns on one log line per HTTP request (method, path, status, duration).</summary>
    public const string RequestLoggingKey = "Shards:RequestLogging";

    private const string RequestLogCategory = "Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware";

    // Below every configuration source, so any source the user gives wins.
    private static readonly Dictionary<string, string?> DefaultLevels = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Orleans"] = "Warning",
        // Category rules match by plain prefix: without this line "Orleans" would quiet OrleansShards too.
        ["Logging:LogLevel:OrleansShards"] = "Information",
        ["Logging:LogLevel:Microsoft"] = "Warning",
        ["Logging:LogLevel:Polly"] = "Warning",
        [$"Logging:LogLevel:{RequestLogCategory}"] = "Information",
    };

    /// <summary>Sets the default levels, the request log when asked for, the start-up banner and the Watchdog filter.</summary>
    public static WebApplicationBuilder AddShardsLogging(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = DefaultLevels });
        if (builder.Configuration.GetValue<bool>(RequestLoggingKey))
        {
            builder.Services.AddHttpLogging(o =>
            {
                o.LoggingFields = HttpLoggingFields.RequestMethod | HttpLoggingFields.RequestPath | HttpLoggingFields.ResponseStatusCode | HttpLoggingFields.Duration;
                o.CombineLogs = true;
            });
        }

        FalseWatchdogWarningFilter.Decorate(builder.Services);
        builder.Services.AddHostedService<StartupBanner>();
        return builder;
    }

    /// <summary>Logs each request in one line when <c>Shards:RequestLogging</c> is true.</summary>
    public static WebApplication UseShardsRequestLogging(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Configuration.GetValue<bool>(RequestLoggingKey))
        {
            app.UseHttpLogging();
        }

        return app;
    }
}
