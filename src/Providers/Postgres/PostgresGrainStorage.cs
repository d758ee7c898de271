using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansShards.Providers.Relational;

namespace OrleansShards.Providers.Postgres;

/// <summary>
/// Orleans grain storage in a PostgreSQL table: the PostgreSQL dialect of <see cref="RelationalGrainStorage"/>. Each
/// silo's writer commits the writes of all its grains in shared transactions (group commit, one WAL flush per batch);
/// a stale ETag is refused, also when another silo wrote last. Creates its table and sequence in an empty database.
/// </summary>
public sealed class PostgresGrainStorage : RelationalGrainStorage
{
    /// <summary>Creates the storage; the database is opened at <see cref="RelationalGrainStorageOptions.InitStage"/> or by the first operation.</summary>
    public PostgresGrainStorage(
        string name,
        PostgresGrainStorageOptions options,
        IGrainStorageSerializer grainStorageSerializer,
        IOptions<ClusterOptions> clusterOptions,
        IActivatorProvider activatorProvider,
        ILogger<PostgresGrainStorage> logger)
        : base(name ?? throw new ArgumentNullException(nameof(name)), new PostgresDialect(name, options ?? throw new ArgumentNullException(nameof(options))),
            options, grainStorageSerializer, clusterOptions, activatorProvider, logger)
    {
    }

    /// <summary>
    /// Creates the table and the ETag sequence in the database of <paramref name="connectionString"/> when missing (what
    /// the storage also does when it opens): for a migration step that runs before the silos. Safe to run again, and
    /// beside silos that start at the same time.
    /// </summary>
    public static async Task CreateSchemaAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new Npgsql.NpgsqlCommand(PostgresDialect.CreateSchema, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
