using OrleansShards.Testing.Servers;

[assembly: AssemblyFixture(typeof(OrleansShards.Providers.Tests.Storage.StoragePostgresServer))]

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>
/// A real PostgreSQL server for the grain storage tests (the approach of Readers.Tests' PostgresServer: initdb and
/// pg_ctl in a temporary directory, 127.0.0.1, a free port, scram password authentication), started on first use.
/// </summary>
public sealed class StoragePostgresServer : StorageServer<PostgresInstance>
{
    /// <summary>The environment variable that holds the password; configurations name it as <c>env:...</c>.</summary>
    public const string PasswordVariable = "SHARDS_TEST_STORAGE_PG_PASSWORD";

    /// <inheritdoc/>
    protected override async Task<PostgresInstance> StartAsync()
    {
        var password = "pg-storage-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(PasswordVariable, password);
        return await LocalServers.StartPostgresAsync("shards_storage", password, durable: false);
    }

    /// <summary>Creates an empty database and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var server = await RequireAsync();
        var name = (prefix + "_" + Guid.NewGuid().ToString("N")[..8]).ToLowerInvariant();
        await using var connection = new Npgsql.NpgsqlConnection(server.ConnectionString("postgres", withPassword: true));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }
}
