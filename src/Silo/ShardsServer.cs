using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Grains;
using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Silo;

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
        var host = section.Get<SiloHostOptions>() ?? new SiloHostOptions();
        var shards = section.Get<ShardsOptions>() ?? new ShardsOptions();
        var dataDir = Path.GetFullPath(shards.DataDir);
        Directory.CreateDirectory(dataDir);
        var sqliteFile = string.IsNullOrWhiteSpace(host.SqliteFile) ? Path.Combine(dataDir, "state", "shards.db") : Path.GetFullPath(host.SqliteFile);

        builder.Services.AddShardsGrains();
        builder.Services.Configure<JsonOptions>(o => ConfigureJson(o.SerializerOptions));
        builder.Services.AddProblemDetails();

        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort, serviceId: host.ServiceId, clusterId: host.ClusterId);
            silo.AddShardsStorage(o =>
            {
                o.DataSource = sqliteFile;
                o.Synchronous = host.SqliteSynchronous;
            });
        });
        return builder;
    }

    /// <summary>
    /// Adds the grain storage of OrleansShards to a silo: SQLite, the embedded default, under the
    /// name the grains use and as the default provider.
    /// </summary>
    public static ISiloBuilder AddShardsStorage(this ISiloBuilder silo, Action<SqliteGrainStorageOptions> configure)
    {
        // Binary state through Orleans' own codecs: smaller and faster to write than JSON, version-tolerant through [Id].
        silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        silo.AddSqliteGrainStorage(ShardsOptions.StorageName, configure);
        // The same store is the silo's default, so grains of an application hosted beside ours
        // persist to the embedded file too, without a second writer on it.
        silo.Services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (services, _) => services.GetRequiredKeyedService<IGrainStorage>(ShardsOptions.StorageName));
        silo.Services.TryAddSingleton(services => services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
        silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromMinutes(30));
        return silo;
    }

    /// <summary>Builds the server with every route mapped.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = CreateBuilder(args);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapShardsApi();
        return app;
    }

    /// <summary>The first address the server listens on, once started.</summary>
    public static Uri ListeningAddress(this WebApplication app)
    {
        var address = app.Urls.FirstOrDefault() ?? throw new InvalidOperationException("the server listens on no address");
        return new Uri(address.Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal));
    }

    internal static ShardsOptions Options(this IServiceProvider services) => services.GetRequiredService<IOptions<ShardsOptions>>().Value;
}
