using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansShards.Providers.LogStore;
using OrleansShards.Providers.Streams;
using OrleansShards.Readers;

namespace OrleansShards.Silo.Hosting;

/// <summary>Wires the built-in log: its store, chosen by configuration, topics as a live source of jobs, and its Orleans streams.</summary>
public static class LogConfiguration
{
    /// <summary>The name of the persistent stream provider on the built-in log: one stream per topic partition (<see cref="OrleansShards.Providers.Streams.LogStreamIds"/>).</summary>
    public const string StreamProviderName = "shards-log";

    /// <summary>The grain storage Orleans keeps stream subscriptions in, so they survive a restart.</summary>
    public const string PubSubStoreName = "PubSubStore";

    /// <summary>
    /// Adds the stream provider <see cref="StreamProviderName"/> on the log store; subscriptions live in
    /// the silo's grain storage under <see cref="PubSubStoreName"/> unless the host registered another.
    /// </summary>
    public static ISiloBuilder AddShardsLogStreaming(this ISiloBuilder silo)
    {
        silo.Services.TryAddKeyedSingleton<Orleans.Storage.IGrainStorage>(PubSubStoreName, (services, _) =>
            services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(OrleansShards.Grains.ShardsOptions.StorageName));
        silo.AddShardsLogStreams(StreamProviderName);
        return silo;
    }

    /// <summary>Registers the log store of <c>Shards:LogStore</c> and the topic source adapter.</summary>
    /// <exception cref="InvalidOperationException">A setting is missing or wrong; the message names the key.</exception>
    public static IServiceCollection AddShardsLog(this IServiceCollection services, IConfiguration configuration, string dataDir)
    {
        var settings = configuration.GetSection(LogStoreSettings.Section).Get<LogStoreSettings>() ?? new LogStoreSettings();
        switch (settings.Provider.Trim().ToLowerInvariant())
        {
            case "sqlite":
                RefusePerSiloLog(configuration, settings);
                var file = string.IsNullOrWhiteSpace(settings.File) ? Path.Combine(dataDir, "state", "log.db") : Path.GetFullPath(settings.File);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                services.AddSqliteLogStore(o => o.DataSource = file);
                break;
            case "postgres":
                if (string.IsNullOrWhiteSpace(settings.ConnectionString))
                {
                    throw new InvalidOperationException($"{LogStoreSettings.Section}:Provider is 'postgres' but {LogStoreSettings.Section}:ConnectionString is not set");
                }

                var builder = new Npgsql.NpgsqlConnectionStringBuilder(settings.ConnectionString);
                if (!string.IsNullOrEmpty(builder.Password))
                {
                    throw new InvalidOperationException($"{LogStoreSettings.Section}:ConnectionString holds a password: put it in {LogStoreSettings.Section}:Password as env:NAME or file:PATH");
                }

                if (settings.Password is { } password)
                {
                    builder.Password = SecretReference.ResolveOrLiteral(password, $"{LogStoreSettings.Section}:Password");
                }

                services.AddPostgresLogStore(o => o.ConnectionString = builder.ConnectionString);
                break;
            default:
                throw new InvalidOperationException($"{LogStoreSettings.Section}:Provider '{settings.Provider}' is neither 'sqlite' nor 'postgres'");
        }

        services.AddTopicSources();
        var retention = configuration.GetSection(TopicRetentionSettings.Section);
        services.Configure<TopicRetentionSettings>(retention);
        // Fails at start-up, naming the keys, rather than at the first retention round.
        _ = (retention.Get<TopicRetentionSettings>() ?? new TopicRetentionSettings()).Policy;
        services.AddSingleton<TopicRetention>();
        services.AddHostedService<TopicRetentionService>();
        return services;
    }

    /// <summary>
    /// Refuses the SQLite log in its default place, the silo's own data directory, when several silos form a cluster:
    /// each silo would have its own topics (an append through one silo unseen by a job or follower on another), lost
    /// with the silo's disk. An explicit <c>Shards:LogStore:File</c> is the operator saying the silos of one host share it.
    /// </summary>
    private static void RefusePerSiloLog(IConfiguration configuration, LogStoreSettings settings)
    {
        var clustering = (configuration[$"{OrleansShards.Grains.ShardsOptions.Section}:Clustering"] ?? SiloHostOptions.LocalhostClustering).Trim().ToLowerInvariant();
        if (clustering == SiloHostOptions.LocalhostClustering || !string.IsNullOrWhiteSpace(settings.File))
        {
            return;
        }

        throw new InvalidOperationException(
            $"{LogStoreSettings.Section}:Provider is 'sqlite' with {LogStoreSettings.Section}:File unset under Shards:Clustering '{clustering}': every silo would keep its own topics in {{DataDir}}/state/log.db. " +
            $"Set {LogStoreSettings.Section}:Provider to 'postgres' (with {LogStoreSettings.Section}:ConnectionString and {LogStoreSettings.Section}:Password), or {LogStoreSettings.Section}:File to one file that every silo of this host shares");
    }
}
