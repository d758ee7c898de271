using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using OrleansShards.Grains;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// One log entry once the server listens: where to reach it and where its state lives. It stands in for the
/// start-up lines of Orleans and ASP.NET Core, which are at warning level by default (<see cref="ShardsLogging"/>).
/// </summary>
internal sealed partial class StartupBanner(
    IServer server,
    IHostApplicationLifetime lifetime,
    IConfiguration configuration,
    IOptions<ShardsOptions> shards,
    IOptions<SiloHostOptions> host,
    ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Write);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Write()
    {
        var urls = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var listening = urls.Count == 0 ? "(no HTTP address)" : string.Join(", ", urls);
        var observability = ObservabilitySettings.From(configuration);
        LogBanner(
            logger,
            listening,
            observability.Metrics.Enabled ? observability.Metrics.Path : "off",
            configuration.GetValue<string>($"{StorageSettings.Section}:Provider") ?? StorageSettings.Sqlite,
            configuration.GetValue<string>($"{LogStoreSettings.Section}:Provider") ?? "sqlite",
            host.Value.Clustering,
            host.Value.ClusterId,
            Path.GetFullPath(shards.Value.DataDir),
            configuration.GetValue<bool>(ShardsLogging.RequestLoggingKey) ? "on" : $"off ({ShardsLogging.RequestLoggingKey}=true turns it on)");
    }

    [LoggerMessage(Level = LogLevel.Information, Message =
        "OrleansShards listening on {Urls} (status page /, API /v1, OpenAPI /openapi/v1.json, API reference /scalar, metrics {Metrics}); " +
        "grain storage {Storage}, log store {LogStore}, clustering {Clustering} (cluster {ClusterId}); data dir {DataDir}; request log {RequestLog}")]
    private static partial void LogBanner(ILogger logger, string urls, string metrics, string storage, string logStore, string clustering, string clusterId, string dataDir, string requestLog);
}
