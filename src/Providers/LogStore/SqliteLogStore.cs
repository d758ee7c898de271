using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.LogStore;

/// <summary>
/// The log store in one SQLite file (WAL, <c>synchronous=FULL</c> by default): the embedded default. Appends of
/// every caller are group-committed by one writer thread; reads use pooled connections beside it (WAL lets them
/// run while the writer commits). Several processes may share the file: SQLite's write lock serializes their
/// writers and offsets come from the partition rows.
/// </summary>
public sealed class SqliteLogStore : RelationalLogStore
{
    private readonly SqliteLogStoreOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private int _watching;
    private readonly string _readerConnectionString;
    private readonly string _writerConnectionString;

    /// <summary>Opens (creating when missing) the file named by <paramref name="options"/>.</summary>
    public SqliteLogStore(SqliteLogStoreOptions options, TimeProvider? timeProvider = null, ILogger<SqliteLogStore>? logger = null)
        : base(Describe(options), Validated(options).PollInterval, options.MaxBatchSize, timeProvider ?? TimeProvider.System, logger ?? NullLogger<SqliteLogStore>.Instance)
    {
        _options = options;
        var path = Path.GetFullPath(options.DataSource!);
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _writerConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
        _readerConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
    }

    /// <inheritdoc/>
    protected override bool HearsOtherProcesses => true;

    /// <inheritdoc/>
    /// <remarks>
    /// One loop for the whole store, on a connection of its own, reads <c>PRAGMA data_version</c> every poll interval: it
    /// changes when any other connection (another process, or this store's writer) committed. Then every waiter looks
    /// again. So the idle cost is one tiny query per poll interval, whatever the number of waiters.
    /// </remarks>
    protected override void StartWatchingOtherProcesses()
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0)
        {
            _ = Task.Run(() => WatchDataVersionAsync(_stopping.Token));
        }
    }

    private async Task WatchDataVersionAsync(CancellationToken cancellationToken)
    {
        long? last = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_readerConnectionString) { Pooling = false }.ToString());
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA data_version";
                while (!cancellationToken.IsCancellationRequested)
                {
                    var version = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                    if (last is not null && version != last)
                    {
                        WakeAllWaiters();
                    }

                    last = version;
                    await Task.Delay(PollInterval, TimeProvider, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is SqliteException or InvalidOperationException)
            {
                // Waiters fall back to their own look every second meanwhile; wake them now so none waits for a missed commit.
                last = null;
                WakeAllWaiters();
                Logger.LogWarning(exception, "Log store {Store}: watching for other processes' commits failed; retrying", Description);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stopping.Cancel();
            _stopping.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    protected override string BeginStatement => "BEGIN IMMEDIATE";

    /// <inheritdoc/>
    protected override string GreatestFunction => "MAX";

    /// <inheritdoc/>
    protected override DbConnection OpenWriterConnection()
    {
        var connection = new SqliteConnection(_writerConnectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText =
                $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {(_options.Synchronous == SqliteSynchronousMode.Full ? "FULL" : "NORMAL")};";
            command.ExecuteNonQuery();
            command.CommandText = "BEGIN IMMEDIATE";
            command.ExecuteNonQuery();
            command.CommandText = LogStoreSchema.SqliteCreate;
            command.ExecuteNonQuery();
            command.CommandText = "COMMIT";
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    protected override async ValueTask<DbConnection> OpenReaderConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_readerConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (SqliteException exception)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw Failure("be opened for reading", exception);
        }
    }

    /// <inheritdoc/>
    protected override void InsertRecords(WriterSession session, long topicId, int partition, long firstOffset, long appendedAt, IReadOnlyList<ReadOnlyMemory<byte>> records)
    {
        var insert = session.Command(
            $"INSERT INTO {LogStoreSchema.Records} (topic_id, part, record_offset, appended_at, value) VALUES (@topic, @part, @offset, @at, @value)",
            "@topic", "@part", "@offset", "@at", "@value");
        var value = insert.Inner.Parameters["@value"];
        try
        {
            for (var i = 0; i < records.Count; i++)
            {
                // Microsoft.Data.Sqlite binds byte[] only; an array that is exactly the record avoids the copy.
                var record = records[i];
                var bytes = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(record, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                    ? segment.Array
                    : record.ToArray();
                insert.Execute(topicId, partition, firstOffset + i, appendedAt, bytes);
            }
        }
        finally
        {
            value.Value = DBNull.Value;
        }
    }

    /// <inheritdoc/>
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 19 };

    private static string Describe(SqliteLogStoreOptions options) => $"SQLite file '{Validated(options).DataSource}'";

    private static SqliteLogStoreOptions Validated(SqliteLogStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }
}
