using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace OrleansShards.Providers.LogStore;

/// <summary>
/// The log store in a PostgreSQL database, which it sets up itself (tables created when missing, under an advisory
/// lock so that several processes starting at once do not race). Appends of this process are group-committed by one
/// writer connection; offsets come from the partition row, whose lock is held to the commit, so appends from several
/// processes get dense offsets. Reads use the pool of an <see cref="NpgsqlDataSource"/>. Each append commit sends a
/// NOTIFY that the stores of other processes LISTEN for, so their waiters wake at once rather than at the next poll.
/// </summary>
public sealed partial class PostgresLogStore : RelationalLogStore
{
    // An arbitrary constant: the advisory lock that serializes creating the tables.
    private const long SchemaLockKey = 0x5348_4152_444C_4F47;

    /// <summary>The channel of the notifications sent at each commit of an append: payload "partition:topic".</summary>
    private const string Channel = "shards_log_append";

    private readonly NpgsqlDataSource _dataSource;
    private readonly CancellationTokenSource _stopping = new();
    private int _listening;
    private volatile bool _listeningNow;

    /// <summary>Connects to the database named by <paramref name="options"/> (lazily: the first operation opens the connection).</summary>
    public PostgresLogStore(PostgresLogStoreOptions options, TimeProvider? timeProvider = null, ILogger<PostgresLogStore>? logger = null)
        : base(Describe(options), options.PollInterval, options.MaxBatchSize, timeProvider ?? TimeProvider.System, logger ?? NullLogger<PostgresLogStore>.Instance)
    {
        _dataSource = NpgsqlDataSource.Create(options.ConnectionString!);
    }

    /// <inheritdoc/>
    protected override string BeginStatement => "BEGIN";

    /// <inheritdoc/>
    protected override string GreatestFunction => "GREATEST";

    /// <inheritdoc/>
    protected override DbConnection OpenWriterConnection()
    {
        var connection = _dataSource.OpenConnection();
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"BEGIN; SELECT pg_advisory_xact_lock({SchemaLockKey}); {LogStoreSchema.PostgresCreate} COMMIT;";
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
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException exception)
        {
            throw Failure("be opened for reading", exception);
        }
    }

    /// <inheritdoc/>
    protected override void InsertRecords(WriterSession session, long topicId, int partition, long firstOffset, long appendedAt, IReadOnlyList<ReadOnlyMemory<byte>> records)
    {
        // One statement per append whatever its size: the values travel as one bytea[] and unnest numbers them.
        var insert = session.Command(
            $"INSERT INTO {LogStoreSchema.Records} (topic_id, part, record_offset, appended_at, value) " +
            "SELECT @topic, @part, @first + u.ordinal - 1, @at, u.value FROM unnest(@values) WITH ORDINALITY AS u(value, ordinal)",
            "@topic", "@part", "@first", "@at", "@values");
        var values = (NpgsqlParameter)insert.Inner.Parameters["@values"];
        values.NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea;
        var array = new byte[records.Count][];
        for (var i = 0; i < array.Length; i++)
        {
            array[i] = records[i].ToArray();
        }

        try
        {
            insert.Execute(topicId, partition, firstOffset, appendedAt, array);
        }
        finally
        {
            values.Value = DBNull.Value;
        }
    }

    /// <inheritdoc/>
    /// <remarks>PostgreSQL delivers the notification at commit, and only if the transaction commits.</remarks>
    protected override void AnnounceAppend(WriterSession session, string topic, int partition) =>
        session.Command($"SELECT pg_notify('{Channel}', @payload)", "@payload").Execute(partition.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + topic);

    /// <inheritdoc/>
    /// <remarks>Only while the LISTEN connection is up: without it, waiters go back to polling every poll interval.</remarks>
    protected override bool HearsOtherProcesses => _listeningNow;

    /// <inheritdoc/>
    /// <remarks>One connection of this store listens for every append of every process: waiters wake at once instead of at the next poll.</remarks>
    protected override void StartWatchingOtherProcesses()
    {
        if (Interlocked.Exchange(ref _listening, 1) == 0)
        {
            _ = Task.Run(ListenAsync);
        }
    }

    private async Task ListenAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(_stopping.Token).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    var colon = e.Payload.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0 && int.TryParse(e.Payload.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var partition))
                    {
                        WakeWaiters(e.Payload[(colon + 1)..], partition);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(_stopping.Token).ConfigureAwait(false);
                }

                // Listening from now on; an append committed before LISTEN was not heard, so every waiter looks once.
                _listeningNow = true;
                WakeAllWaiters();

                while (!_stopping.IsCancellationRequested)
                {
                    await connection.WaitAsync(_stopping.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or IOException)
            {
                // Waiters poll meanwhile (woken now, so none sits out a long wait); listen again shortly.
                _listeningNow = false;
                WakeAllWaiters();
                LogListenFailed(Logger, exception, Description);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log store {Store}: listening for other processes' appends failed; waiters poll until it listens again")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, string store);

    /// <inheritdoc/>
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stopping.Cancel();
            _dataSource.Dispose();
            _stopping.Dispose();
        }
    }

    private static string Describe(PostgresLogStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        return $"PostgreSQL database '{builder.Database}' on {builder.Host}:{builder.Port}";
    }
}
