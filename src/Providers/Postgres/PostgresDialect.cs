using System.Data;
using System.Data.Common;
using Npgsql;
using OrleansShards.Providers.Relational;

namespace OrleansShards.Providers.Postgres;

/// <summary>
/// PostgreSQL under <see cref="RelationalGrainStorage"/>: the writer's connection and the readers come from one
/// <see cref="NpgsqlDataSource"/>; ETags come from a sequence, so writers on several silos never wait on a counter
/// row; the schema is created (once, under an advisory lock) in an empty database.
/// </summary>
internal sealed class PostgresDialect : RelationalDialect
{
    private const string EtagSequence = "orleans_grain_etag";

    // Any constant: it serializes concurrent schema creation by silos starting together.
    private const string SchemaLock = "5715025390622672979";

    private const string Schema = $"""
        SELECT pg_advisory_xact_lock({SchemaLock});
        CREATE TABLE IF NOT EXISTS {StateTable} (
            service_id   text   NOT NULL,
            grain_type   text   NOT NULL,
            grain_id     text   NOT NULL,
            etag         bigint NOT NULL,
            data         bytea,
            modified_utc bigint NOT NULL,
            PRIMARY KEY (service_id, grain_type, grain_id)
        );
        CREATE SEQUENCE IF NOT EXISTS {EtagSequence};
        """;

    private readonly string _name;
    private readonly string _connectionString;
    private readonly object _lock = new();
    private NpgsqlDataSource? _dataSource;

    public PostgresDialect(string name, PostgresGrainStorageOptions options)
    {
        _name = name;
        _connectionString = options.ConnectionString ?? string.Empty;
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(_connectionString);
            Where = $"the PostgreSQL grain storage database '{builder.Database}' on {builder.Host}:{builder.Port}";
        }
        catch (ArgumentException)
        {
            Where = "the PostgreSQL grain storage database (connection string not valid)";
        }
    }

    public override string Where { get; }

    public override string Kind => "PostgreSQL";

    public override string ReserveEtags => $"SELECT nextval('{EtagSequence}') FROM generate_series(1, @n)";

    public override Exception Failure(string message, Exception? inner) => new GrainStorageException(message, inner);

    // PostgreSQL aborts the whole transaction on any failed statement.
    public override bool TransactionSurvives(DbConnection connection, DbException exception) => false;

    /// <summary>The statements that create the table and the sequence when missing, in one transaction.</summary>
    public const string CreateSchema = "BEGIN;" + Schema + "COMMIT;";

    public override DbConnection OpenWriter(string serviceId)
    {
        NpgsqlConnection? connection = null;
        try
        {
            connection = DataSource().OpenConnection();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = CreateSchema;
                command.ExecuteNonQuery();
            }

            return connection;
        }
        catch (Exception exception) when (exception is NpgsqlException or ArgumentException or InvalidOperationException or TimeoutException)
        {
            connection?.Dispose();
            throw new GrainStorageException(
                $"PostgreSQL grain storage '{_name}' cannot use {Where}: {exception.Message}", exception);
        }
    }

    public override async ValueTask<StoredRow> ReadAsync(string serviceId, string grainType, string grainId, CancellationToken cancellationToken)
    {
        await using var command = DataSource().CreateCommand(SelectRow);
        AddParameter(command, "@s", DbType.String, serviceId);
        AddParameter(command, "@t", DbType.String, grainType);
        AddParameter(command, "@g", DbType.String, grainId);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return new StoredRow(false, 0, null);
        }

        var etag = reader.GetInt64(0);
        var data = await reader.IsDBNullAsync(1, cancellationToken).ConfigureAwait(false) ? null : reader.GetFieldValue<byte[]>(1);
        return new StoredRow(true, etag, data);
    }

    public override void Dispose()
    {
        lock (_lock)
        {
            _dataSource?.Dispose();
            _dataSource = null;
        }
    }

    private NpgsqlDataSource DataSource()
    {
        lock (_lock)
        {
            return _dataSource ??= NpgsqlDataSource.Create(_connectionString);
        }
    }
}
