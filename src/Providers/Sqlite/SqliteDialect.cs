using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using OrleansShards.Providers.Relational;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// SQLite under <see cref="RelationalGrainStorage"/>: one file in WAL mode, the writer's connection with the chosen
/// <c>synchronous</c> mode, pooled read-only connections with a prepared SELECT, ETags from a counter row.
/// </summary>
internal sealed partial class SqliteDialect : RelationalDialect
{
    private const string MetaTable = "orleans_grain_storage_meta";

    /// <summary>
    /// A rowid table rather than WITHOUT ROWID: states are often kilobytes, and SQLite advises WITHOUT ROWID only for
    /// rows far smaller than a page.
    /// </summary>
    private const string Schema = $"""
        CREATE TABLE IF NOT EXISTS {StateTable} (
            service_id   TEXT    NOT NULL,
            grain_type   TEXT    NOT NULL,
            grain_id     TEXT    NOT NULL,
            etag         INTEGER NOT NULL,
            data         BLOB,
            modified_utc INTEGER NOT NULL,
            PRIMARY KEY (service_id, grain_type, grain_id)
        );
        CREATE TABLE IF NOT EXISTS {MetaTable} (
            name  TEXT    NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        );
        INSERT INTO {MetaTable} (name, value) VALUES ('etag', 0) ON CONFLICT DO NOTHING;
        INSERT INTO {MetaTable} (name, value) VALUES ('schema', 1) ON CONFLICT DO NOTHING;
        """;

    private readonly string _name;
    private readonly SqliteGrainStorageOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<ReadConnection> _readers = new();
    private readonly int _maxIdleReaders = Math.Max(4, Environment.ProcessorCount * 2);
    private int _idleReaders;
    private bool _disposed;

    public SqliteDialect(string name, SqliteGrainStorageOptions options, ILogger logger)
    {
        _name = name;
        _options = options;
        _logger = logger;
        Path = string.IsNullOrWhiteSpace(options.DataSource) ? null : System.IO.Path.GetFullPath(options.DataSource);
    }

    public string? Path { get; }

    public override string Where => $"the SQLite grain storage file '{Path}'";

    public override string Kind => "SQLite";

    // IMMEDIATE takes the write lock up front, so a batch never fails half-way on a lock upgrade.
    public override string Begin => "BEGIN IMMEDIATE";

    // One counter per file: a block of ETags per batch, the last one returned.
    public override string ReserveEtags => $"UPDATE {MetaTable} SET value = value + @n WHERE name = 'etag' RETURNING value";

    public override Exception Failure(string message, Exception? inner) => new SqliteStorageException(message, inner);

    public override void ReadReservedEtags(DbCommand command, Span<long> etags)
    {
        var last = (long)command.ExecuteScalar()!;
        var etag = last - etags.Length;
        for (var i = 0; i < etags.Length; i++)
        {
            etags[i] = ++etag;
        }
    }

    public override bool InTransaction(DbConnection connection) =>
        SQLitePCL.raw.sqlite3_get_autocommit(((SqliteConnection)connection).Handle) == 0;

    public override bool TransactionSurvives(DbConnection connection, DbException exception) => InTransaction(connection);

    public override DbConnection OpenWriter(string serviceId)
    {
        if (Path is null)
        {
            throw new SqliteStorageException(
                $"SQLite grain storage '{_name}' has no database file: {nameof(SqliteGrainStorageOptions)}.{nameof(SqliteGrainStorageOptions.DataSource)} is required.");
        }

        SqliteConnection? connection = null;
        try
        {
            var directory = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            connection = new SqliteConnection(ConnectionString(SqliteOpenMode.ReadWriteCreate));
            connection.Open();

            // The first statement reads the header: this is where a file that is not a database is caught.
            var journalMode = Scalar(connection, "PRAGMA journal_mode = WAL") as string;
            if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new SqliteStorageException(
                    $"SQLite grain storage '{_name}' cannot use the database file '{Path}': WAL journal mode could not be enabled " +
                    $"(journal_mode is '{journalMode}').");
            }

            var synchronous = _options.Synchronous == SqliteSynchronousMode.Normal ? "NORMAL" : "FULL";
            Execute(connection, $"PRAGMA synchronous = {synchronous}");
            Execute(connection, "BEGIN IMMEDIATE;" + Schema + "COMMIT;");

            // Preparing the read statement checks that a table of the same name, if it was already there, has our columns.
            ReturnReader(RentReader(serviceId));
            LogOpened(_name, Path, synchronous);
            return connection;
        }
        catch (Exception exception) when (exception is SqliteException or IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            connection?.Dispose();
            throw new SqliteStorageException(
                $"SQLite grain storage '{_name}' cannot use the database file '{Path}': {exception.Message}", exception);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    public override ValueTask<StoredRow> ReadAsync(string serviceId, string grainType, string grainId, CancellationToken cancellationToken)
    {
        // SQLite reads are synchronous and, from the page cache, take microseconds: an async hop would cost more.
        var reader = RentReader(serviceId);
        try
        {
            var row = reader.Read(grainType, grainId);
            ReturnReader(reader);
            return ValueTask.FromResult(row);
        }
        catch
        {
            // A connection that failed may be in any state: do not hand it to the next reader.
            reader.Dispose();
            throw;
        }
    }

    public override void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        DisposeIdleReaders();
    }

    private ReadConnection RentReader(string serviceId)
    {
        if (_readers.TryDequeue(out var reader))
        {
            Interlocked.Decrement(ref _idleReaders);
            return reader;
        }

        return new ReadConnection(ConnectionString(SqliteOpenMode.ReadWrite), serviceId);
    }

    private void ReturnReader(ReadConnection reader)
    {
        if (Volatile.Read(ref _disposed))
        {
            reader.Dispose();
            return;
        }

        if (Interlocked.Increment(ref _idleReaders) > _maxIdleReaders)
        {
            Interlocked.Decrement(ref _idleReaders);
            reader.Dispose();
            return;
        }

        _readers.Enqueue(reader);
        if (Volatile.Read(ref _disposed))
        {
            DisposeIdleReaders();
        }
    }

    private void DisposeIdleReaders()
    {
        while (_readers.TryDequeue(out var reader))
        {
            Interlocked.Decrement(ref _idleReaders);
            reader.Dispose();
        }
    }

    private string ConnectionString(SqliteOpenMode mode) => new SqliteConnectionStringBuilder
    {
        DataSource = Path,
        Mode = mode,

        // This class keeps its own connections (and their prepared statements); a pooled connection would keep the
        // file open after close.
        Pooling = false,
    }.ToString();

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SQLite grain storage {Name} opened {Path} (WAL, synchronous={Synchronous})")]
    private partial void LogOpened(string name, string? path, string synchronous);

    /// <summary>A reader connection with its prepared SELECT, kept between reads.</summary>
    private sealed class ReadConnection : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _select;
        private readonly SqliteParameter _grainType;
        private readonly SqliteParameter _grainId;

        public ReadConnection(string connectionString, string serviceId)
        {
            _connection = new SqliteConnection(connectionString);
            try
            {
                _connection.Open();
                using (var pragma = _connection.CreateCommand())
                {
                    pragma.CommandText = "PRAGMA query_only = ON";
                    pragma.ExecuteNonQuery();
                }

                _select = _connection.CreateCommand();
                _select.CommandText = SelectRow;
                _select.Parameters.Add("@s", SqliteType.Text).Value = serviceId;
                _grainType = _select.Parameters.Add("@t", SqliteType.Text);
                _grainId = _select.Parameters.Add("@g", SqliteType.Text);
                _grainType.Value = string.Empty;
                _grainId.Value = string.Empty;
                _select.Prepare();
            }
            catch
            {
                _connection.Dispose();
                throw;
            }
        }

        public StoredRow Read(string grainType, string grainId)
        {
            _grainType.Value = grainType;
            _grainId.Value = grainId;
            using var reader = _select.ExecuteReader(CommandBehavior.SingleRow);
            if (!reader.Read())
            {
                return new StoredRow(false, 0, null);
            }

            var etag = reader.GetInt64(0);
            var data = reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1);
            return new StoredRow(true, etag, data);
        }

        public void Dispose() => _connection.Dispose();
    }
}
