using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Grains;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Readers;
using OrleansShards.Silo.Http;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// The OrleansShards server: one host builder for every deployment, an Orleans silo co-hosted with
/// the HTTP API, configured from appsettings, environment and command line.
/// </summary>
public static class ShardsServer
{
    /// <summary>JSON settings of the HTTP API: camelCase, and an unknown field is an error rather than silently ignored.</summary>
    public static void ConfigureJson(JsonSerializerOptions json)
    {
        json.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        json.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        json.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        json.PropertyNameCaseInsensitive = false;
    }

    /// <summary>Creates the host builder with the silo, the grain storage and the API services.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var section = builder.Configuration.GetSection(ShardsOptions.Section);
        builder.Services.Configure<ShardsOptions>(section);
        builder.Services.Configure<SiloHostOptions>(section);
        builder.Services.Configure<RunOptions>(builder.Configuration.GetSection(RunOptions.Section));
        var host = section.Get<SiloHostOptions>() ?? new SiloHostOptions();
        var shards = section.Get<ShardsOptions>() ?? new ShardsOptions();
        var dataDir = Path.GetFullPath(shards.DataDir);
        Directory.CreateDirectory(dataDir);
        var statePaths = StatePaths(builder.Configuration, host);
        builder.Services.PostConfigure<ShardsOptions>(o => o.StatePaths.AddRange(statePaths));

        builder.Services.AddShardsGrains();
        builder.Services.AddSingleton<OrleansShards.Silo.Serving.ReadPlanCache>();
        builder.Services.Configure<SourceConnectionsOptions>(section);
        // Source kinds beyond files under the data roots, each registered by its own folder of Readers.
        builder.Services.AddSqlSources(new DataRoots(dataDir, shards.DataRoots.Select(Path.GetFullPath), shards.StatePaths.Concat(statePaths).Select(Path.GetFullPath), shards.Reads));
        builder.Services.AddObjectSources(new OrleansShards.Readers.Objects.ObjectSourceOptions { CacheDirectory = Path.Combine(dataDir, "cache", "objects"), CacheMaxBytes = section.GetValue<long?>("ObjectCache:MaxBytes") ?? 10L << 30 });
        builder.Services.AddRedisStreamsSources();
        builder.Services.AddShardsLog(builder.Configuration, dataDir);
        builder.Services.Configure<JsonOptions>(o => ConfigureJson(o.SerializerOptions));
        var limits = (builder.Configuration.GetSection(ShardsLimitsOptions.Section).Get<ShardsLimitsOptions>() ?? new ShardsLimitsOptions()).Validate();
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(limits));
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ApiProblems.DescribeUnrouted);
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        // A query or route value that does not bind (?limit=abc) throws, so the exception handler answers it naming the field.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.AddShardsWeb();

        builder.AddShardsObservability();
        builder.AddShardsLogging();
        builder.UseOrleans(silo =>
        {
            UseClustering(silo, host);
            silo.UseShardsKubernetesHosting(builder.Configuration);
            silo.AddShardsStorage(StorageSettings.FromConfiguration(builder.Configuration, host, dataDir));
            silo.AddLiveJobWakeUp();
            silo.AddShardsLogStreaming();
        });
        return builder;
    }

    /// <summary>The files and directories of the server's state and log set outside <c>{DataDir}/state</c>: never read as sources.</summary>
    private static List<string> StatePaths(IConfiguration configuration, SiloHostOptions host) =>
        [.. new[] { host.SqliteFile, configuration[$"{StorageSettings.Section}:Directory"], configuration[$"{LogStoreSettings.Section}:File"] }
            .Where(p => !string.IsNullOrWhiteSpace(p))
            .Select(p => Path.GetFullPath(p!))];

    private static void UseClustering(ISiloBuilder silo, SiloHostOptions host) => silo.UseShardsClustering(host);

    /// <summary>
    /// Adds the grain storage of OrleansShards to a silo: SQLite, the embedded default, with the given options.
    /// </summary>
    public static ISiloBuilder AddShardsStorage(this ISiloBuilder silo, Action<SqliteGrainStorageOptions> configure) =>
        silo.AddShardsStorage((builder, name) => builder.AddSqliteGrainStorage(name, configure));

    /// <summary>
    /// Adds the grain storage chosen by <c>Shards:Storage</c> (<see cref="StorageSettings"/>) to a silo; a wrong or
    /// missing setting throws here, naming the key.
    /// </summary>
    public static ISiloBuilder AddShardsStorage(this ISiloBuilder silo, StorageSettings settings) =>
        silo.AddShardsStorage(settings.Register);

    /// <summary>
    /// Adds a grain storage provider, registered by <paramref name="addProvider"/> under the name it is given, as the
    /// storage of the grains, the silo's default storage and the store of stream subscriptions (<c>PubSubStore</c>).
    /// </summary>
    public static ISiloBuilder AddShardsStorage(this ISiloBuilder silo, Action<ISiloBuilder, string> addProvider)
    {
        ArgumentNullException.ThrowIfNull(addProvider);
        // Binary state through Orleans' own codecs: smaller and faster to write than JSON, version-tolerant through [Id].
        silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        addProvider(silo, ShardsOptions.StorageName);
        // The same store is the silo's default and the pub-sub store of streams, so grains of an application hosted
        // beside ours persist there too, without a second writer on it.
        silo.Services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (services, _) => services.GetRequiredKeyedService<IGrainStorage>(ShardsOptions.StorageName));
        silo.Services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_PUBSUB_PROVIDER_NAME, (services, _) => services.GetRequiredKeyedService<IGrainStorage>(ShardsOptions.StorageName));
        silo.Services.TryAddSingleton(services => services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
        silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromMinutes(30));
        return silo;
    }

    /// <summary>
    /// Wakes every live job once the silo is active: after a full restart nothing else would call
    /// them, and their splitters must go on cutting shards as records arrive. Waking is idempotent,
    /// so each silo of a cluster may do it.
    /// </summary>
    public static ISiloBuilder AddLiveJobWakeUp(this ISiloBuilder silo) =>
        silo.AddStartupTask(async (services, cancellationToken) =>
        {
            var grains = services.GetRequiredService<IGrainFactory>();
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansShards.LiveJobs");
            var ids = await grains.GetGrain<OrleansShards.GrainInterfaces.IJobRegistryGrain>(OrleansShards.GrainInterfaces.IJobRegistryGrain.Key).List();
            foreach (var id in ids)
            {
                try
                {
                    await grains.GetGrain<OrleansShards.GrainInterfaces.IJobGrain>(id).Wake();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Job {JobId}: waking it after start-up failed; its next call wakes it", id);
                }
            }
        });

    /// <summary>Builds the server with every route mapped.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = CreateBuilder(args);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseShardsRequestLogging();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestBodyLimits();
        app.UseFollowersStopOnShutdown();
        app.UseWebSockets();
        app.UseShardsWeb();
        app.MapShardsApi();
        app.MapShardsObservability();
        return app;
    }

    /// <summary>The first address the server listens on, once started.</summary>
    public static Uri ListeningAddress(this WebApplication app)
    {
        var address = app.Urls.FirstOrDefault() ?? throw new InvalidOperationException("the server listens on no address");
        return new Uri(address.Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal));
    }
}
