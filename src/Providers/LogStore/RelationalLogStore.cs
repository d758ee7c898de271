using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using static OrleansShards.Providers.LogStore.LogStoreValidation;

namespace OrleansShards.Providers.LogStore;

/// <summary>
/// The relational log store shared by the SQLite and PostgreSQL dialects. Every write (appends, topic changes,
/// truncation) is queued to one writer thread that commits everything queued while the previous commit was
/// being made durable in one transaction (group commit, the same writer as the grain storage's): many producers appending one record each cost one
/// fsync per batch, not one per record. Offsets come from the partition's row (its high-water mark), bumped in
/// the same transaction that inserts the records, so several processes appending to one database still get
/// dense offsets. Reads run on pooled connections of their own, beside the writer.
/// </summary>
public abstract partial class RelationalLogStore : ILogStore, IDisposable
{
    private readonly ConcurrentDictionary<(string Topic, int Partition), AppendSignal> _signals = new();
    private readonly TimeSpan _pollInterval;
    private readonly LogWriter _writer;
    private readonly ILogger _logger;
    private WriterSession? _session;
    private long _transactions;
    private long _appendedRecords;
    private int _disposed;
    private bool _schemaReady;

    /// <summary>Starts the writer thread.</summary>
    /// <param name="description">Names the database in errors and logs (a file path, a host and database).</param>
    /// <param name="pollInterval">How often <see cref="WaitForAppendAsync"/> looks for appends made by other processes.</param>
    /// <param name="maxBatchSize">Most writes committed in one transaction.</param>
    /// <param name="timeProvider">The clock of append times and of waits.</param>
    /// <param name="logger">Where failed commits are logged.</param>
    protected RelationalLogStore(string description, TimeSpan pollInterval, int maxBatchSize, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        if (pollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(pollInterval), pollInterval, "The poll interval of the log store must be positive.");
        }

        if (maxBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "The largest batch of the log store must be at least 1.");
        }

        Description = description;
        _pollInterval = pollInterval;
        TimeProvider = timeProvider;
        Logger = logger;
        _logger = logger;
        _writer = new LogWriter(this, maxBatchSize);
    }

    /// <summary>Names the database in errors and logs.</summary>
    public string Description { get; }

    /// <summary>Transactions committed by the writer so far; appends per transaction show how well group commit works.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Records appended through this instance so far.</summary>
    public long AppendedRecords => Interlocked.Read(ref _appendedRecords);

    /// <summary>The clock of append times and waits.</summary>
    protected TimeProvider TimeProvider { get; }

    /// <summary>The store's logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>
    /// Opens the writer's connection, sets it up for durable commits and creates the tables when missing.
    /// Called on the writer thread, again after a connection failed.
    /// </summary>
    protected abstract DbConnection OpenWriterConnection();

    /// <summary>Opens a connection for reads (the tables exist by then).</summary>
    protected abstract ValueTask<DbConnection> OpenReaderConnectionAsync(CancellationToken cancellationToken);

    private async ValueTask<DbConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        if (!Volatile.Read(ref _schemaReady))
        {
            // The writer creates the tables when it opens its connection; an empty write makes it do so.
            await Enqueue(static _ => 0L, appended: null, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _schemaReady, true);
        }

        return await OpenReaderConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The statement that starts a write transaction (SQLite takes the write lock up front).</summary>
    protected abstract string BeginStatement { get; }

    /// <summary>The SQL function that returns the larger of two integers (<c>MAX</c> in SQLite, <c>GREATEST</c> in PostgreSQL).</summary>
    protected abstract string GreatestFunction { get; }

    /// <summary>Inserts the records of one append at consecutive offsets from <paramref name="firstOffset"/>, inside the writer's transaction.</summary>
    protected abstract void InsertRecords(WriterSession session, long topicId, int partition, long firstOffset, long appendedAt, IReadOnlyList<ReadOnlyMemory<byte>> records);

    /// <summary>
    /// Called inside the transaction of an append: a dialect that can tell other processes about commits (PostgreSQL's
    /// NOTIFY, delivered at commit) does so here. Nothing by default: other processes poll.
    /// </summary>
    protected virtual void AnnounceAppend(WriterSession session, string topic, int partition)
    {
    }

    /// <summary>
    /// Called when a wait for appends begins: a dialect that can hear other processes' appends (PostgreSQL's LISTEN)
    /// starts listening here, once, and calls <see cref="WakeWaiters"/> for each. Nothing by default: waiters poll.
    /// </summary>
    protected virtual void StartWatchingOtherProcesses()
    {
    }

    /// <summary>
    /// Whether <see cref="StartWatchingOtherProcesses"/> wakes waiters whenever another process commits, so that waiters
    /// need not each poll the database every poll interval (they then look again only every <see cref="SafetyPollInterval"/>).
    /// </summary>
    protected virtual bool HearsOtherProcesses => false;

    /// <summary>How often a waiter looks at the database by itself when the store hears other processes' commits.</summary>
    protected static TimeSpan SafetyPollInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The interval at which the store looks for other processes' appends.</summary>
    protected TimeSpan PollInterval => _pollInterval;

    /// <summary>Wakes every waiter: something was committed, and which partition is not known (they each look).</summary>
    protected void WakeAllWaiters()
    {
        foreach (var signal in _signals.Values)
        {
            signal.Wake();
        }
    }

    /// <summary>Wakes the waiters of a partition, for an append this instance heard about from another process.</summary>
    protected void WakeWaiters(string topic, int partition)
    {
        if (_signals.TryGetValue((topic, partition), out var signal))
        {
            signal.Wake();
        }
    }

    /// <summary>Whether <paramref name="exception"/> is the database refusing a duplicate key (a topic created by another process at the same time).</summary>
    protected abstract bool IsUniqueViolation(DbException exception);

    /// <inheritdoc/>
    public async ValueTask<TopicDescription> CreateTopicAsync(string topic, int partitions, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartitionCount(partitions, nameof(partitions));
        return await Enqueue(session => CreateTopic(session, topic, partitions), appended: null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<TopicDescription> AddPartitionsAsync(string topic, int partitions, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartitionCount(partitions, nameof(partitions));
        return await Enqueue(session => AddPartitions(session, topic, partitions), appended: null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<TopicDescription?> GetTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, $"SELECT name, partitions, created_at FROM {LogStoreSchema.Topics} WHERE name = @name", ("@name", topic));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadTopic(reader) : null;
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<TopicDescription>> ListTopicsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, $"SELECT name, partitions, created_at FROM {LogStoreSchema.Topics}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var topics = new List<TopicDescription>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            topics.Add(ReadTopic(reader));
        }

        // Ordinal order in C#: the databases' collations differ, the contract's order must not.
        topics.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return topics;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> DeleteTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        var deleted = await Enqueue(session => DeleteTopic(session, topic), appended: null, cancellationToken).ConfigureAwait(false);
        foreach (var key in _signals.Keys)
        {
            if (key.Topic == topic && _signals.TryRemove(key, out var signal))
            {
                signal.Wake();
            }
        }

        return deleted;
    }

    /// <inheritdoc/>
    public async ValueTask<AppendResult> AppendAsync(string topic, int partition, IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartition(partition);
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            var bounds = await GetBoundsAsync(topic, partition, cancellationToken).ConfigureAwait(false);
            return new AppendResult(bounds.HighWatermark, bounds.HighWatermark);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var write = new AppendWrite(topic, partition, records);
        if (!_writer.TryEnqueue(write))
        {
            throw new ObjectDisposedException(GetType().Name, $"The log store {Description} is closed.");
        }

        return await write.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<LogReadResult> ReadAsync(string topic, int partition, long fromOffset, int maxRecords, CancellationToken cancellationToken = default) =>
        ReadAsync(topic, partition, fromOffset, maxRecords, long.MaxValue, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// Each row's length comes before its value, so the value of the record past the budget is not taken from the
    /// reader (a row still travels whole from PostgreSQL; it is not kept).
    /// </remarks>
    public async ValueTask<LogReadResult> ReadAsync(string topic, int partition, long fromOffset, int maxRecords, long maxBytes, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartition(partition);
        if (fromOffset < 0)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, $"topic '{topic}' partition {partition}: the offset to read from must not be negative, not {fromOffset}");
        }

        if (maxRecords < 1)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, $"topic '{topic}' partition {partition}: the number of records to read must be at least 1, not {maxRecords}");
        }

        if (maxBytes < 1)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, $"topic '{topic}' partition {partition}: the bytes to read must be at least 1, not {maxBytes}");
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var (topicId, bounds) = await ReadBoundsAsync(connection, topic, partition, cancellationToken).ConfigureAwait(false);
        if (fromOffset < bounds.FirstRetained)
        {
            throw new LogTruncatedException(topic, partition, fromOffset, bounds.FirstRetained);
        }

        var records = new List<LogRecord>(Math.Min(maxRecords, 1024));
        if (fromOffset < bounds.HighWatermark)
        {
            await using var command = Command(connection,
                $"SELECT record_offset, value, appended_at, CAST(length(value) AS BIGINT) FROM {LogStoreSchema.Records} " +
                "WHERE topic_id = @topic AND part = @part AND record_offset >= @from ORDER BY record_offset LIMIT @limit",
                ("@topic", topicId), ("@part", partition), ("@from", fromOffset), ("@limit", maxRecords));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var bytes = 0L;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                bytes += reader.GetInt64(3);
                if (records.Count > 0 && bytes > maxBytes)
                {
                    break;
                }

                records.Add(new LogRecord(reader.GetInt64(0), (byte[])reader.GetValue(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
            }

            // The bounds and the records are read without one snapshot: a truncation in between shows as records that
            // start above the offset asked for. Reported as such, never skipped over.
            if (records.Count == 0 || records[0].Offset != fromOffset)
            {
                var (_, now) = await ReadBoundsAsync(connection, topic, partition, cancellationToken).ConfigureAwait(false);
                throw new LogTruncatedException(topic, partition, fromOffset, Math.Max(now.FirstRetained, fromOffset + 1));
            }
        }

        var highWatermark = records.Count == 0 ? bounds.HighWatermark : Math.Max(bounds.HighWatermark, records[^1].Offset + 1);
        return new LogReadResult(records, new PartitionBounds(bounds.FirstRetained, highWatermark));
    }

    /// <inheritdoc/>
    public async ValueTask<PartitionBounds> GetBoundsAsync(string topic, int partition, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartition(partition);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var (_, bounds) = await ReadBoundsAsync(connection, topic, partition, cancellationToken).ConfigureAwait(false);
        return bounds;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Append times never go backwards within a partition (an append stamped before the previous one gets the
    /// previous one's time), so the offsets are ordered by time too and a binary search over primary-key lookups
    /// finds the offset without an index on the time.
    /// </remarks>
    public async ValueTask<long> FindOffsetAsync(string topic, int partition, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartition(partition);
        var target = time.ToUnixTimeMilliseconds();
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var (topicId, bounds) = await ReadBoundsAsync(connection, topic, partition, cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection,
            $"SELECT appended_at FROM {LogStoreSchema.Records} WHERE topic_id = @topic AND part = @part AND record_offset = @offset",
            ("@topic", topicId), ("@part", partition), ("@offset", 0L));
        var low = bounds.FirstRetained;
        var high = bounds.HighWatermark;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            command.Parameters["@offset"].Value = middle;
            var appendedAt = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (appendedAt is null or DBNull || Convert.ToInt64(appendedAt, System.Globalization.CultureInfo.InvariantCulture) < target)
            {
                // Truncated meanwhile, or too old: the answer lies above.
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <inheritdoc/>
    public async ValueTask<long> TruncateAsync(string topic, int partition, long beforeOffset, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartition(partition);
        if (beforeOffset < 0)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, $"topic '{topic}' partition {partition}: the offset to truncate before must not be negative, not {beforeOffset}");
        }

        return await Enqueue(session => Truncate(session, topic, partition, beforeOffset), appended: null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<bool> WaitForAppendAsync(string topic, int partition, long afterOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ValidateTopic(topic);
        ValidatePartition(partition);
        StartWatchingOtherProcesses();
        var deadline = TimeProvider.GetTimestamp() + (long)(Math.Max(0, timeout.TotalSeconds) * TimeProvider.TimestampFrequency);
        while (true)
        {
            // Take the signal before looking at the database: an append committed after the look completes this one.
            var signal = _signals.GetOrAdd((topic, partition), static _ => new AppendSignal());
            var woken = signal.Task;
            var bounds = await GetBoundsAsync(topic, partition, cancellationToken).ConfigureAwait(false);
            if (bounds.HighWatermark > afterOffset)
            {
                return true;
            }

            var remaining = TimeProvider.GetElapsedTime(TimeProvider.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            var poll = HearsOtherProcesses ? SafetyPollInterval : _pollInterval;
            var wait = remaining < poll ? remaining : poll;
            try
            {
                await woken.WaitAsync(wait, TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Time to poll: another process may have appended.
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>One query per topic per poll, whatever the number of partitions waited on.</remarks>
    public async ValueTask<bool> WaitForAnyAppendAsync(IReadOnlyList<(string Topic, int Partition, long AfterOffset)> positions, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(positions);
        var wanted = new Dictionary<(string Topic, int Partition), long>();
        foreach (var (topic, partition, afterOffset) in positions)
        {
            ValidateTopic(topic);
            ValidatePartition(partition);
            wanted[(topic, partition)] = wanted.TryGetValue((topic, partition), out var known) ? Math.Min(known, afterOffset) : afterOffset;
        }

        if (wanted.Count == 0)
        {
            await Task.Delay(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, TimeProvider, cancellationToken).ConfigureAwait(false);
            return false;
        }

        StartWatchingOtherProcesses();
        var deadline = TimeProvider.GetTimestamp() + (long)(Math.Max(0, timeout.TotalSeconds) * TimeProvider.TimestampFrequency);
        var woken = new Task[wanted.Count];
        while (true)
        {
            var i = 0;
            foreach (var key in wanted.Keys)
            {
                woken[i++] = _signals.GetOrAdd(key, static _ => new AppendSignal()).Task;
            }

            if (await AnyAboveAsync(wanted, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            var remaining = TimeProvider.GetElapsedTime(TimeProvider.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                var poll = HearsOtherProcesses ? SafetyPollInterval : _pollInterval;
                await Task.WhenAny(woken).WaitAsync(remaining < poll ? remaining : poll, TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Time to poll: another process may have appended.
            }
        }
    }

    private async ValueTask<bool> AnyAboveAsync(Dictionary<(string Topic, int Partition), long> wanted, CancellationToken cancellationToken)
    {
        if (wanted.Count == 0)
        {
            return false;
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        foreach (var topic in wanted.Keys.Select(k => k.Topic).Distinct(StringComparer.Ordinal))
        {
            await using var command = Command(connection,
                $"SELECT p.part, p.next_offset FROM {LogStoreSchema.Partitions} p JOIN {LogStoreSchema.Topics} t ON t.id = p.topic_id WHERE t.name = @name",
                ("@name", topic));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var seen = 0;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (wanted.TryGetValue((topic, reader.GetInt32(0)), out var afterOffset))
                {
                    seen++;
                    if (reader.GetInt64(1) > afterOffset)
                    {
                        return true;
                    }
                }
            }

            var asked = wanted.Keys.Where(k => k.Topic == topic).Select(k => k.Partition).Order().ToList();
            if (seen < asked.Count)
            {
                if (seen == 0 && await GetTopicAsync(topic, cancellationToken).ConfigureAwait(false) is null)
                {
                    throw TopicNotFound(topic);
                }

                throw new LogStoreException(ShardsErrorKind.NotFound, $"topic '{topic}': not all of partitions {string.Join(", ", asked)} exist");
            }
        }

        return false;
    }

    /// <summary>Stops taking writes, commits what is queued, and closes the writer's connection.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _writer.Dispose();
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the dialect's resources once the writer has stopped.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Creates a command on <paramref name="connection"/> with named parameters.</summary>
    protected static DbCommand Command(DbConnection connection, string sql, params ReadOnlySpan<(string Name, object Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>Wraps a database failure in an error that names the store.</summary>
    protected Exception Failure(string what, Exception exception) =>
        new LogStoreUnavailableException($"The log store {Description} could not {what}: {exception.Message}", exception);

    private static TopicDescription ReadTopic(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)));

    private static async ValueTask<(long TopicId, PartitionBounds Bounds)> ReadBoundsAsync(DbConnection connection, string topic, int partition, CancellationToken cancellationToken)
    {
        await using var command = Command(connection,
            $"SELECT t.id, t.partitions, p.first_retained, p.next_offset FROM {LogStoreSchema.Topics} t " +
            $"LEFT JOIN {LogStoreSchema.Partitions} p ON p.topic_id = t.id AND p.part = @part WHERE t.name = @name",
            ("@name", topic), ("@part", partition));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw TopicNotFound(topic);
        }

        if (await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false))
        {
            throw PartitionNotFound(topic, partition, reader.GetInt32(1));
        }

        return (reader.GetInt64(0), new PartitionBounds(reader.GetInt64(2), reader.GetInt64(3)));
    }

    private async ValueTask<T> Enqueue<T>(Func<WriterSession, T> run, (string Topic, int Partition)? appended, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var write = new PendingWrite<T>(run, appended);
        if (!_writer.TryEnqueue(write))
        {
            throw new ObjectDisposedException(GetType().Name, $"The log store {Description} is closed.");
        }

        // Cancelling stops the wait, not the write: once queued, it commits (or fails) on its own.
        return await write.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
