using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Providers.Blobs;
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

/// <summary>The conformance suite on blob storage and a real Azurite, starting without the container.</summary>
public sealed class BlobConformanceTests(SiloFixture silo, StorageAzuriteServer azurite) : GrainStorageConformanceTests(silo)
{
    private readonly string _container = "conformance-" + Guid.NewGuid().ToString("N")[..8];

    protected override async Task RegisterAsync(IServiceCollection services, string name)
    {
        var server = await azurite.RequireAsync();
        var connectionString = LocalServers.AzuriteConnectionString(server.Port);
        services.AddBlobGrainStorage(name, o =>
        {
            o.ConnectionString = connectionString;
            o.ContainerName = _container;
        });
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
