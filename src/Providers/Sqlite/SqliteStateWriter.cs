using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// The one writer of a database file. Every write of every grain is queued here; a dedicated thread takes
/// everything that queued up while the previous commit was being fsynced and commits it in one transaction
/// (group commit), then completes each caller with its own outcome. SQLite allows one writer at a time anyway,
/// and a FULL commit costs an fsync whether it holds one row or a thousand.
/// </summary>
internal sealed partial class SqliteStateWriter : IDisposable
{
    private readonly Channel<WriteOperation> _queue = Channel.CreateUnbounded<WriteOperation>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    private readonly SqliteConnection _connection;
    private readonly string _serviceId;
    private readonly string _providerName;
    private readonly string _path;
    private readonly int _maxBatchSize;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Thread _thread;

    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _rollback;
    private readonly SqliteCommand _reserveEtags;
    private readonly SqliteParameter _reserveCount;
    private readonly KeyedCommand _insert;
    private readonly KeyedCommand _update;
    private readonly KeyedCommand _delete;
    private readonly KeyedCommand _selectEtag;

    private long _transactions;
    private long _writes;
    private int _largestBatch;
    private int _pending;

    public SqliteStateWriter(
        SqliteConnection connection,
        string serviceId,
        string providerName,
        string path,
        int maxBatchSize,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _connection = connection;
        _serviceId = serviceId;
        _providerName = providerName;
        _path = path;
        _maxBatchSize = maxBatchSize;
        _timeProvider = timeProvider;
        _logger = logger;

        // IMMEDIATE takes the write lock up front, so a batch never fails half-way on a lock upgrade.
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _rollback = Prepare("ROLLBACK");

        // ETags come from one counter per file, never reused, so a state deleted and written again
        // can never be overwritten by a holder of an ETag from before the delete.
        _reserveEtags = _connection.CreateCommand();
        _reserveEtags.CommandText = $"UPDATE {SqliteSchema.MetaTable} SET value = value + $n WHERE name = 'etag' RETURNING value";
        _reserveCount = _reserveEtags.Parameters.Add("$n", SqliteType.Integer);
        _reserveCount.Value = 1L;
        _reserveEtags.Prepare();

        _insert = new KeyedCommand(connection, serviceId,
            $"INSERT INTO {SqliteSchema.StateTable} (service_id, grain_type, grain_id, etag, data, modified_utc) " +
            "VALUES ($s, $t, $g, $new, $data, $m) ON CONFLICT DO NOTHING", withNewState: true, withOldEtag: false);
        _update = new KeyedCommand(connection, serviceId,
            $"UPDATE {SqliteSchema.StateTable} SET etag = $new, data = $data, modified_utc = $m " +
            "WHERE service_id = $s AND grain_type = $t AND grain_id = $g AND etag = $old", withNewState: true, withOldEtag: true);
        _delete = new KeyedCommand(connection, serviceId,
            $"DELETE FROM {SqliteSchema.StateTable} WHERE service_id = $s AND grain_type = $t AND grain_id = $g AND etag = $old",
            withNewState: false, withOldEtag: true);
        _selectEtag = new KeyedCommand(connection, serviceId,
            $"SELECT etag FROM {SqliteSchema.StateTable} WHERE service_id = $s AND grain_type = $t AND grain_id = $g",
            withNewState: false, withOldEtag: false);

        _thread = new Thread(Run) { IsBackground = true, Name = $"SQLite grain storage writer ({providerName})" };
        _thread.Start();
    }

    public long Transactions => Interlocked.Read(ref _transactions);

    public long Writes => Interlocked.Read(ref _writes);

    public int LargestBatch => Volatile.Read(ref _largestBatch);

    /// <summary>Writes accepted and not yet completed: queued, or in the batch being committed.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public bool TryEnqueue(WriteOperation operation)
    {
        Interlocked.Increment(ref _pending);
        if (_queue.Writer.TryWrite(operation))
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        return false;
    }

    /// <summary>
    /// Stops taking writes, lets the writer commit everything already queued, and closes the connection.
    /// </summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _connection.Dispose();
    }

    private SqliteCommand Prepare(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Prepare();
        return command;
    }

    private void Run()
    {
        var reader = _queue.Reader;
        var batch = new List<WriteOperation>(Math.Min(_maxBatchSize, 256));
        while (true)
        {
            if (!reader.TryRead(out var first))
            {
                // A dedicated thread may block: it keeps the fsyncs off the thread pool that the grains run on.
                var wait = reader.WaitToReadAsync();
                var more = wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
                if (!more)
                {
                    return;
                }

                continue;
            }

            batch.Add(first);
            while (batch.Count < _maxBatchSize && reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                CommitBatch(batch);
            }
            catch (Exception exception)
            {
                // CommitBatch completes every operation itself; this only keeps the thread alive on a bug.
                LogBatchFailed(exception, _providerName, _path);
                foreach (var operation in batch)
                {
                    operation.Error ??= exception;
                }
            }

            Interlocked.Add(ref _pending, -batch.Count);
            foreach (var operation in batch)
            {
                operation.Complete();
            }

            batch.Clear();
        }
    }

    /// <summary>
    /// Applies the batch in one transaction and sets each operation's outcome. A statement that fails or finds a
    /// different ETag fails only its own operation. A failure that makes SQLite roll the whole transaction back
    /// fails the operation that caused it, and the rest are applied again in a fresh transaction.
    /// </summary>
    private void CommitBatch(List<WriteOperation> batch)
    {
        var pending = batch;
        while (true)
        {
            foreach (var operation in pending)
            {
                operation.Error = null;
            }

            try
            {
                _begin.ExecuteNonQuery();
            }
            catch (Exception exception)
            {
                FailAll(pending, exception, "begin a transaction in");
                return;
            }

            WriteOperation? killer = null;
            try
            {
                _reserveCount.Value = (long)pending.Count;
                var last = (long)_reserveEtags.ExecuteScalar()!;
                var etag = last - pending.Count;
                var now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                foreach (var operation in pending)
                {
                    etag++;
                    try
                    {
                        Apply(operation, etag, now);
                    }
                    catch (SqliteException exception)
                    {
                        operation.Error = Failure(operation, exception);
                        if (!InTransaction())
                        {
                            killer = operation;
                            break;
                        }
                    }
                }
            }
            catch (Exception exception)
            {
                // Not an operation's fault (reserving ETags failed): nothing of the batch can be committed.
                RollbackQuietly();
                FailAll(pending, exception, "write to");
                return;
            }

            if (killer is not null)
            {
                LogTransactionAborted(killer.Error, _providerName, _path, killer.GrainType, killer.GrainId);
                if (ReferenceEquals(pending, batch))
                {
                    pending = new List<WriteOperation>(batch);
                }

                pending.Remove(killer);
                if (pending.Count == 0)
                {
                    return;
                }

                continue;
            }

            try
            {
                _commit.ExecuteNonQuery();
            }
            catch (Exception exception)
            {
                RollbackQuietly();
                FailAll(pending, exception, "commit to");
                return;
            }

            var committed = 0;
            foreach (var operation in pending)
            {
                if (operation.Error is null)
                {
                    committed++;
                }
            }

            Interlocked.Increment(ref _transactions);
            Interlocked.Add(ref _writes, committed);
            if (committed > _largestBatch)
            {
                Volatile.Write(ref _largestBatch, committed);
            }

            return;
        }
    }

    private void Apply(WriteOperation operation, long newEtag, long now)
    {
        bool applied;
        switch (operation.Kind)
        {
            case WriteKind.Write:
            case WriteKind.Tombstone:
                var data = operation.Kind == WriteKind.Write ? operation.Data : null;
                applied = operation.ExpectedEtag is { } expected
                    ? _update.Execute(operation, newEtag, data, now, expected) == 1
                    : _insert.Execute(operation, newEtag, data, now, expected: null) == 1;
                break;
            case WriteKind.Delete:
                if (operation.ExpectedEtag is { } old)
                {
                    applied = _delete.Execute(operation, 0, null, 0, old) == 1;
                }
                else
                {
                    // Clearing a state never written succeeds; clearing over a record one has not read does not.
                    applied = _selectEtag.Scalar(operation) is null;
                }

                newEtag = 0;
                break;
            default:
                throw new InvalidOperationException($"Unknown write kind {operation.Kind}.");
        }

        if (applied)
        {
            operation.NewEtag = newEtag;
            return;
        }

        var stored = _selectEtag.Scalar(operation) is long storedEtag ? storedEtag.ToString(CultureInfo.InvariantCulture) : null;
        var current = operation.ExpectedEtag?.ToString(CultureInfo.InvariantCulture);
        operation.Error = new InconsistentStateException(
            $"Version conflict ({(operation.Kind == WriteKind.Write ? "WriteState" : "ClearState")}): ServiceId={_serviceId} " +
            $"ProviderName={_providerName} GrainType={operation.GrainType} GrainId={operation.GrainId} " +
            $"ETag={current ?? "null"} StoredETag={stored ?? "none"} File={_path}.",
            stored,
            current);
    }

    private bool InTransaction() => SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0;

    private void RollbackQuietly()
    {
        if (!InTransaction())
        {
            return;
        }

        try
        {
            _rollback.ExecuteNonQuery();
        }
        catch (Exception exception)
        {
            LogRollbackFailed(exception, _providerName, _path);
        }
    }

    private void FailAll(List<WriteOperation> operations, Exception exception, string verb)
    {
        LogBatchFailed(exception, _providerName, _path);
        foreach (var operation in operations)
        {
            operation.Error = new SqliteStorageException(
                $"Failed to {verb} the SQLite grain storage file '{_path}' (provider '{_providerName}') for grain type " +
                $"{operation.GrainType}, grain id {operation.GrainId}: {exception.Message}",
                exception);
        }
    }

    private SqliteStorageException Failure(WriteOperation operation, SqliteException exception) =>
        new($"Failed to {(operation.Kind == WriteKind.Write ? "write" : "clear")} the state of grain type {operation.GrainType}, " +
            $"grain id {operation.GrainId} in the SQLite grain storage file '{_path}' (provider '{_providerName}'): {exception.Message}",
            exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite grain storage {Name}: a batch of writes to {Path} failed")]
    private partial void LogBatchFailed(Exception exception, string name, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQLite grain storage {Name}: rollback on {Path} failed")]
    private partial void LogRollbackFailed(Exception exception, string name, string path);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "SQLite grain storage {Name}: the write of {GrainType} {GrainId} aborted the transaction on {Path}; the rest of the batch is retried")]
    private partial void LogTransactionAborted(Exception? exception, string name, string path, string grainType, string grainId);

    /// <summary>
    /// A prepared statement keyed by (service id, grain type, grain id), with its parameters kept so that each
    /// execution only rebinds values.
    /// </summary>
    private sealed class KeyedCommand
    {
        private readonly SqliteCommand _command;
        private readonly SqliteParameter _grainType;
        private readonly SqliteParameter _grainId;
        private readonly SqliteParameter? _newEtag;
        private readonly SqliteParameter? _data;
        private readonly SqliteParameter? _modified;
        private readonly SqliteParameter? _oldEtag;

        public KeyedCommand(SqliteConnection connection, string serviceId, string sql, bool withNewState, bool withOldEtag)
        {
            _command = connection.CreateCommand();
            _command.CommandText = sql;
            _command.Parameters.Add("$s", SqliteType.Text).Value = serviceId;
            _grainType = _command.Parameters.Add("$t", SqliteType.Text);
            _grainId = _command.Parameters.Add("$g", SqliteType.Text);
            _grainType.Value = string.Empty;
            _grainId.Value = string.Empty;
            if (withNewState)
            {
                _newEtag = _command.Parameters.Add("$new", SqliteType.Integer);
                _data = _command.Parameters.Add("$data", SqliteType.Blob);
                _modified = _command.Parameters.Add("$m", SqliteType.Integer);
                _newEtag.Value = 0L;
                _data.Value = DBNull.Value;
                _modified.Value = 0L;
            }

            if (withOldEtag)
            {
                _oldEtag = _command.Parameters.Add("$old", SqliteType.Integer);
                _oldEtag.Value = 0L;
            }

            _command.Prepare();
        }

        public int Execute(WriteOperation operation, long newEtag, byte[]? data, long modified, long? expected)
        {
            Bind(operation);
            if (_newEtag is not null)
            {
                _newEtag.Value = newEtag;
                _data!.Value = (object?)data ?? DBNull.Value;
                _modified!.Value = modified;
            }

            if (_oldEtag is not null)
            {
                _oldEtag.Value = expected ?? 0L;
            }

            try
            {
                return _command.ExecuteNonQuery();
            }
            finally
            {
                // Dropping the reference lets a large state be collected while the batch goes on.
                if (_data is not null)
                {
                    _data.Value = DBNull.Value;
                }
            }
        }

        public object? Scalar(WriteOperation operation)
        {
            Bind(operation);
            var value = _command.ExecuteScalar();
            return value is DBNull ? null : value;
        }

        private void Bind(WriteOperation operation)
        {
            _grainType.Value = operation.GrainType;
            _grainId.Value = operation.GrainId;
        }
    }
}
