using OrleansShards.Silo.Http;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Grains;
using OrleansShards.Readers;
using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Silo.Hosting;

/// <summary>Settings of the embedded silo, bound from the <c>Shards</c> configuration section.</summary>
public sealed class SiloHostOptions
{
    /// <summary>The Orleans cluster id.</summary>
    public string ClusterId { get; set; } = "orleans-shards";

    /// <summary>The Orleans service id: grain state is keyed by it.</summary>
    public string ServiceId { get; set; } = "orleans-shards";

    /// <summary>The silo-to-silo port of localhost clustering.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The client gateway port of localhost clustering.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The SQLite file of grain state; <c>{DataDir}/state/shards.db</c> when empty.</summary>
    public string? SqliteFile { get; set; }

    /// <summary>SQLite's synchronous mode for grain state: <c>Full</c> (default) or <c>Normal</c>.</summary>
    public SqliteSynchronousMode SqliteSynchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>
    /// How silos find each other: <c>localhost</c> (the default: one silo, nothing to run beside it),
    /// <c>redis</c> (Orleans' Redis clustering at <see cref="RedisConnection"/>: several silo processes),
    /// <c>postgres</c> (Orleans' ADO.NET clustering at <see cref="ClusteringConnectionString"/>) or <c>azuretable</c>
    /// (Orleans' Azure Table clustering at <see cref="ClusteringConnectionString"/> or <see cref="ClusteringServiceUri"/>).
    /// </summary>
    public string Clustering { get; set; } = LocalhostClustering;

    /// <summary>The StackExchange.Redis configuration string of Redis clustering, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string? RedisConnection { get; set; }

    /// <summary>PostgreSQL clustering: the Npgsql connection string WITHOUT the password, e.g. <c>Host=db;Username=orleans;Database=orleans</c>.</summary>
    public string? ClusteringConnectionString { get; set; }

    /// <summary>PostgreSQL clustering: the password as a reference, <c>env:NAME</c> or <c>file:PATH</c> (never the password itself).</summary>
    public string? ClusteringPassword { get; set; }

    /// <summary>Azure Table clustering without a connection string: the table service URI (with a SAS token, or with <see cref="ClusteringCredential"/>).</summary>
    public string? ClusteringServiceUri { get; set; }

    /// <summary>Azure Table clustering with <see cref="ClusteringServiceUri"/>: <c>identity</c> (the pod's Azure identity) or a reference to a SAS token.</summary>
    public string? ClusteringCredential { get; set; }

    /// <summary>Whether the silo applies the schema its clustering database needs when it starts (PostgreSQL; idempotent).</summary>
    public bool ApplySchema { get; set; } = true;

    /// <summary>
    /// How long a stopping silo (SIGTERM) has to leave the cluster and deactivate its grains before it stops at once:
    /// shorter than the grace period of the pod (Kubernetes: 30 s by default).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>The IP address this silo advertises to the others in the membership table (not with localhost clustering).</summary>
    public string AdvertisedIp { get; set; } = "127.0.0.1";

    /// <summary>How fast the cluster declares a silo dead (not with localhost clustering, which has one silo).</summary>
    public MembershipSettings Membership { get; set; } = new();

    /// <summary>The value of <see cref="Clustering"/> for one silo on this host.</summary>
    public const string LocalhostClustering = "localhost";

    /// <summary>The value of <see cref="Clustering"/> for Orleans' Redis clustering.</summary>
    public const string RedisClustering = "redis";

    /// <summary>The value of <see cref="Clustering"/> for Orleans' ADO.NET clustering on PostgreSQL.</summary>
    public const string PostgresClustering = "postgres";

    /// <summary>The value of <see cref="Clustering"/> for Orleans' Azure Table clustering.</summary>
    public const string AzureTableClustering = "azuretable";
}

/// <summary>
/// The membership options OrleansShards ships, bound from <c>Shards:Membership</c>. They decide how
/// long the jobs whose grains lived on a silo that died stay unavailable: until the survivors
/// declare it dead, calls to those grains fail, and no silo activates them elsewhere.
/// </summary>
/// <remarks>
/// Measured with bench/Recovery.Bench (2 silo processes on Redis clustering, SIGKILL of the JobGrain's
/// host, time to the first lease served by the survivor): Orleans' defaults (probe timeout 5 s, 3 missed
/// probes, table refresh 60 s) took 6.7 s when the killed silo had been up for 20 s and 12.7 s when it
/// had joined seconds before; these settings 0.7 to 1.2 s (median 0.9 s), and 1.2 to 2.3 s for a silo
/// that had just joined (Orleans adapts the probe period per peer, from <see cref="ProbeTimeout"/> down
/// to half of it). A killed process refuses connections, so its probes
/// fail at once: detection costs about <see cref="NumMissedProbesLimit"/> probe periods. A probe timeout
/// of 0.5 s measured ~0.6 s, but it is not shipped: a live silo that stalls (a long GC pause, a starved
/// thread pool on a 2-core machine) would be declared dead, and lose all its activations, after about
/// a second. With 1 s it takes two unanswered probes of up to 1 s each, and with three or more silos
/// the indirect probes through another silo must fail too. <see cref="DeathVoteExpirationTimeout"/> is
/// 30 s rather than 2 min so that an old suspicion from a passing stall does not add up with a new one.
/// Calls in flight to the dead silo fail when it is declared dead, so the messaging response timeout
/// (30 s) does not decide recovery and is left at Orleans' default.
/// </remarks>
public sealed class MembershipSettings
{
    /// <summary>Leave every membership option at Orleans' defaults and ignore the settings below.</summary>
    public bool UseOrleansDefaults { get; set; }

    /// <summary>How often a silo probes each of its monitored peers, and how long it waits for an answer (Orleans: 5 s).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes in a row before a silo suspects a peer and votes it dead (Orleans: 3).</summary>
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>How often a silo rereads the membership table, the fallback when it missed an update (Orleans: 60 s).</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a death vote counts: votes of several silos must fall within it (Orleans: 2 min).</summary>
    public TimeSpan DeathVoteExpirationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Writes the settings into Orleans' options, unless <see cref="UseOrleansDefaults"/>.</summary>
    public void Apply(ClusterMembershipOptions options)
    {
        if (UseOrleansDefaults)
        {
            return;
        }

        options.ProbeTimeout = ProbeTimeout;
        options.NumMissedProbesLimit = NumMissedProbesLimit;
        options.TableRefreshTimeout = TableRefreshTimeout;
        options.DeathVoteExpirationTimeout = DeathVoteExpirationTimeout;
    }
}

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

        builder.Services.AddShardsGrains();
        builder.Services.AddSingleton<OrleansShards.Silo.Serving.ReadPlanCache>();
        builder.Services.Configure<SourceConnectionsOptions>(section);
        // Source kinds beyond files under the data roots, each registered by its own folder of Readers.
        builder.Services.AddSqlSources(new DataRoots(dataDir, shards.DataRoots.Select(Path.GetFullPath)));
        builder.Services.AddObjectSources(new OrleansShards.Readers.Objects.ObjectSourceOptions { CacheDirectory = Path.Combine(dataDir, "cache", "objects"), CacheMaxBytes = section.GetValue<long?>("ObjectCache:MaxBytes") ?? 10L << 30 });
        builder.Services.AddRedisStreamsSources();
        builder.Services.AddShardsLog(builder.Configuration, dataDir);
        builder.Services.Configure<JsonOptions>(o => ConfigureJson(o.SerializerOptions));
        builder.Services.AddProblemDetails();
        builder.AddShardsWeb();

        builder.AddShardsObservability();
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
        app.UseExceptionHandler();
        app.UseStatusCodePages();
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
