using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Storage;
using OrleansShards.Providers.Files;
using OrleansShards.Providers.Postgres;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Testing.Servers;
using StackExchange.Redis;

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>The conformance suite on a SQLite file (FULL synchronous).</summary>
public sealed class SqliteConformanceTests(SiloFixture silo) : GrainStorageConformanceTests(silo), IDisposable
{
    private readonly TempDirectory _dir = new();

    protected override Task RegisterAsync(IServiceCollection services, string name)
    {
        services.AddSqliteGrainStorage(name, o => o.DataSource = _dir.File("state.db"));
        return Task.CompletedTask;
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>The conformance suite on a real PostgreSQL server, starting from an empty database.</summary>
public sealed class PostgresConformanceTests(SiloFixture silo, StoragePostgresServer postgres) : GrainStorageConformanceTests(silo)
{
    private string? _database;

    protected override async Task RegisterAsync(IServiceCollection services, string name)
    {
        var server = await postgres.RequireAsync();
        _database ??= await postgres.CreateDatabaseAsync("conformance");
        var connectionString = server.ConnectionString(_database, withPassword: true);
        services.AddPostgresGrainStorage(name, o => o.ConnectionString = connectionString);
    }
}

/// <summary>The conformance suite on Orleans' Redis grain storage and a real redis-server.</summary>
public sealed class RedisConformanceTests(SiloFixture silo, StorageRedisServer redis) : GrainStorageConformanceTests(silo)
{
    protected override async Task RegisterAsync(IServiceCollection services, string name)
    {
        var server = await redis.RequireAsync();
        services.AddRedisGrainStorage(name, o =>
        {
            o.ConfigurationOptions = ConfigurationOptions.Parse($"127.0.0.1:{server.Port}");
            o.DeleteStateOnClear = true;
        });
    }
}

/// <summary>
/// The conformance suite on Orleans' own Azure blob grain storage (<c>AddAzureBlobGrainStorage</c>, as the silo
/// registers it for <c>Shards:Storage:Provider=blob</c>) and a real Azurite, starting without the container.
/// </summary>
public sealed class BlobConformanceTests(SiloFixture silo, StorageAzuriteServer azurite) : GrainStorageConformanceTests(silo)
{
    private readonly string _container = "conformance-" + Guid.NewGuid().ToString("N")[..8];
    private readonly ConcurrentQueue<(string Method, string Uri, string? IfNoneMatch)> _requests = new();

    /// <summary>
    /// Orleans names a state's blob <c>{state name}-{grain id}.json</c> in the container, without the service id: the
    /// container, not the service id, separates the states of two services.
    /// </summary>
    protected override bool ServiceIdSeparatesState => false;

    protected override async Task RegisterAsync(IServiceCollection services, string name)
    {
        var server = await azurite.RequireAsync();
        var options = new BlobClientOptions();
        options.AddPolicy(new RequestLog(_requests), HttpPipelinePosition.PerCall);
        var client = new BlobServiceClient(LocalServers.AzuriteConnectionString(server.Port), options);
        services.AddAzureBlobGrainStorage(name, (AzureBlobStorageOptions o) =>
        {
            o.BlobServiceClient = client;
            o.ContainerName = _container;
        });
    }

    /// <summary>
    /// Orleans' provider sends the clear of a state it read as missing as <c>DELETE</c> with <c>If-None-Match: *</c>,
    /// which Azure refuses (412) when the blob exists. Azurite 3.37 ignores that header on DELETE and deletes the
    /// blob: here the clear succeeds and the record written by someone else is gone.
    /// </summary>
    protected override async Task ClearWithoutETagOverARecordAsync(IGrainStorage storage, GrainId id)
    {
        _requests.Clear();
        await storage.ClearStateAsync("s", id, State(0));
        Assert.Contains(_requests, r => r.Method == "DELETE" && r.IfNoneMatch == "*");
        Assert.False((await Read(storage, id)).RecordExists);
    }

    private sealed class RequestLog(ConcurrentQueue<(string Method, string Uri, string? IfNoneMatch)> requests) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message)
        {
            message.Request.Headers.TryGetValue("If-None-Match", out var ifNoneMatch);
            requests.Enqueue((message.Request.Method.ToString(), message.Request.Uri.ToString(), ifNoneMatch));
        }
    }
}

/// <summary>The conformance suite on a directory of files.</summary>
public sealed class FileConformanceTests(SiloFixture silo) : GrainStorageConformanceTests(silo), IDisposable
{
    private readonly TempDirectory _dir = new();

    protected override Task RegisterAsync(IServiceCollection services, string name)
    {
        services.AddFileGrainStorage(name, o => o.Directory = _dir.File("grains"));
        return Task.CompletedTask;
    }

    public void Dispose() => _dir.Dispose();
}
