using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.Tests;

/// <summary>A directory of real files, removed after the test.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "orleansshards-sqlite-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// One silo whose grains store state in SQLite; its services also hand the unit-level tests Orleans' real
/// grain storage serializer and activator provider.
/// </summary>
public sealed class SiloFixture : IAsyncLifetime
{
    public TempDirectory Directory { get; } = new();

    public string DatabasePath => Directory.File("cluster/state.db");

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public SqliteGrainStorage ClusterStorage => (SqliteGrainStorage)SiloServices.GetRequiredKeyedService<IGrainStorage>("sqlite");

    public async ValueTask InitializeAsync()
    {
        Cluster = TestClusters.Build(DatabasePath);
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Directory.Dispose();
    }

    /// <summary>A storage of its own over <paramref name="path"/>, with the silo's serializer.</summary>
    public SqliteGrainStorage CreateStorage(string path, Action<SqliteGrainStorageOptions>? configure = null)
    {
        var options = new SqliteGrainStorageOptions { DataSource = path };
        configure?.Invoke(options);
        return new SqliteGrainStorage(
            "unit",
            options,
            SiloServices.GetRequiredService<IGrainStorageSerializer>(),
            Options.Create(new ClusterOptions { ServiceId = "unit-service", ClusterId = "unit" }),
            SiloServices.GetRequiredService<IActivatorProvider>(),
            NullLogger<SqliteGrainStorage>.Instance);
    }
}

public static class TestClusters
{
    /// <summary>
    /// A one-silo cluster storing in <paramref name="databasePath"/>. Rows are keyed by service id, so clusters that must
    /// see each other's state (a restart) share one; by default each test cluster gets a fresh one.
    /// </summary>
    public static InProcessTestCluster Build(string databasePath, string? serviceId = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        if (serviceId is not null)
        {
            builder.Options.ServiceId = serviceId;
        }

        builder.ConfigureSilo((_, silo) => silo.AddSqliteGrainStorage("sqlite", o => o.DataSource = databasePath));
        return builder.Build();
    }
}

public static class Db
{
    public static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Holds SQLite's write lock from another connection, so the storage's writer waits on a real lock and
    /// writes pile up in its queue: group commit observed without relying on timing.
    /// </summary>
    public static SqliteConnection HoldWriteLock(string path)
    {
        var connection = Open(path);
        Execute(connection, "BEGIN IMMEDIATE");
        return connection;
    }

    public static Task WaitUntil(Func<bool> condition, string what, Func<string>? describe = null) =>
        WaitUntilAsync(condition, what, describe, TimeSpan.FromSeconds(20));

    public static async Task WaitUntilAsync(Func<bool> condition, string what, Func<string>? describe, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow.Add(timeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}. {describe?.Invoke()}");
            }

            await Task.Delay(5);
        }
    }
}
