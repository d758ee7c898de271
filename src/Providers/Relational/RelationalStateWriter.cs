using System.Data;
using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansShards.Providers.GroupCommit;

namespace OrleansShards.Providers.Relational;

/// <summary>
/// The one writer of a grain storage: every write of every grain on the silo is committed here, a batch per
/// transaction (<see cref="GroupCommitWriter{TOperation}"/>). SQLite allows one writer at a time anyway; PostgreSQL
/// flushes its WAL once per commit.
/// </summary>
internal sealed partial class RelationalStateWriter : GroupCommitWriter<WriteOperation>
{
    private readonly RelationalDialect _dialect;
    private readonly string _serviceId;
    private readonly string _providerName;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private Session? _session;

    private long _transactions;
    private long _writes;
    private int _largestBatch;

    /// <summary>Starts the writer on <paramref name="connection"/>, opened by the dialect (which also made the schema).</summary>
    public RelationalStateWriter(
        RelationalDialect dialect,
        DbConnection connection,
        string serviceId,
        string providerName,
        int maxBatchSize,
        TimeProvider timeProvider,
        ILogger logger)
        : base($"{dialect.Kind} grain storage writer ({providerName})", maxBatchSize)
    {
        _dialect = dialect;
        _serviceId = serviceId;
        _providerName = providerName;
        _timeProvider = timeProvider;
        _logger = logger;
        _session = new Session(dialect, connection, serviceId);
        Start();
    }

    public long Transactions => Interlocked.Read(ref _transactions);

    public long Writes => Interlocked.Read(ref _writes);

    public int LargestBatch => Volatile.Read(ref _largestBatch);

    /// <inheritdoc/>
    protected override void OnUnexpectedFailure(Exception exception) => LogBatchFailed(exception, _providerName, _dialect.Where);

    /// <summary>Closes the connection once the last batch is committed.</summary>
    protected override void OnStopped()
    {
        _session?.Dispose();
        _session = null;
    }

    /// <summary>
    /// A session whose connection broke (a server restart, a network cut) is replaced before the next batch,
    /// so one outage fails the writes made during it, not every write after it.
    /// </summary>
    private Session? Connected(List<WriteOperation> batch)
    {
        if (_session is { } session && session.Connection.State == ConnectionState.Open)
        {
            return session;
        }

        _session?.Dispose();
        _session = null;
        try
        {
            _session = new Session(_dialect, _dialect.OpenWriter(_serviceId), _serviceId);
            return _session;
        }
        catch (Exception exception)
        {
            FailAll(batch, exception, "reconnect to");
            return null;
        }
    }

    /// <summary>
    /// Applies the batch in one transaction and sets each operation's outcome. A statement that fails or finds a
    /// different ETag fails only its own operation. A failure that makes the database roll the whole transaction back
    /// fails the operation that caused it, and the rest are applied again in a fresh transaction.
    /// </summary>
    protected override void CommitBatch(List<WriteOperation> batch)
    {
        if (Connected(batch) is not { } session)
        {
            return;
        }

        var pending = batch;
        var etags = new long[pending.Count];
        var reconnected = false;
        while (true)
        {
            foreach (var operation in pending)
            {
                operation.Error = null;
            }

            try
            {
                session.Begin.ExecuteNonQuery();
            }
            catch (Exception exception) when (!reconnected && session.Connection.State != ConnectionState.Open)
            {
                // The session died while idle (a server restart, a failover, an idle timeout): nothing of the batch
                // was sent, so it is safe to send it again once, on a new connection.
                LogReconnecting(exception, _providerName, _dialect.Where);
                reconnected = true;
                if (Connected(pending) is not { } fresh)
                {
                    return;
                }

                session = fresh;
                continue;
            }
            catch (Exception exception)
            {
                FailAll(pending, exception, "begin a transaction in");
                return;
            }

            WriteOperation? killer = null;
            try
            {
                session.ReserveCount.Value = (long)pending.Count;
                _dialect.ReadReservedEtags(session.ReserveEtags, etags.AsSpan(0, pending.Count));
                var now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                for (var i = 0; i < pending.Count; i++)
                {
                    var operation = pending[i];
                    try
                    {
                        Apply(session, operation, etags[i], now);
                    }
                    catch (DbException exception) when (session.Connection.State == ConnectionState.Open)
                    {
                        operation.Error = Failure(operation, exception);
                        if (!_dialect.TransactionSurvives(session.Connection, exception))
                        {
                            killer = operation;
                            break;
                        }
                    }
                }
            }
            catch (Exception exception)
            {
                // Not an operation's fault (reserving ETags failed, the connection broke): nothing of the batch commits.
                RollbackQuietly(session);
                FailAll(pending, exception, "write to");
                return;
            }

            if (killer is not null)
            {
                RollbackQuietly(session);
                LogTransactionAborted(killer.Error, _providerName, _dialect.Where, killer.GrainType, killer.GrainId);
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
                session.Commit.ExecuteNonQuery();
            }
            catch (Exception exception)
            {
                RollbackQuietly(session);
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

    private void Apply(Session session, WriteOperation operation, long newEtag, long now)
    {
        bool applied;
        switch (operation.Kind)
        {
            case WriteKind.Write:
            case WriteKind.Tombstone:
                var data = operation.Kind == WriteKind.Write ? operation.Data : null;
                applied = operation.ExpectedEtag is { } expected
                    ? session.Update.Execute(operation, newEtag, data, now, expected) == 1
                    : session.Insert.Execute(operation, newEtag, data, now, expected: null) == 1;
                break;
            case WriteKind.Delete:
                if (operation.ExpectedEtag is { } old)
                {
                    applied = session.Delete.Execute(operation, 0, null, 0, old) == 1;
                }
                else
                {
                    // Clearing a state never written succeeds; clearing over a record one has not read does not.
                    applied = session.SelectEtag.Scalar(operation) is null;
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

        var stored = session.SelectEtag.Scalar(operation) is long storedEtag ? storedEtag.ToString(CultureInfo.InvariantCulture) : null;
        var current = operation.ExpectedEtag?.ToString(CultureInfo.InvariantCulture);
        operation.Error = new InconsistentStateException(
            $"Version conflict ({(operation.Kind == WriteKind.Write ? "WriteState" : "ClearState")}): ServiceId={_serviceId} " +
            $"ProviderName={_providerName} GrainType={operation.GrainType} GrainId={operation.GrainId} " +
            $"ETag={current ?? "null"} StoredETag={stored ?? "none"} in {_dialect.Where}.",
            stored,
            current);
    }

    private void RollbackQuietly(Session session)
    {
        if (session.Connection.State != ConnectionState.Open || !_dialect.InTransaction(session.Connection))
        {
            return;
        }

        try
        {
            session.Rollback.ExecuteNonQuery();
        }
        catch (Exception exception)
        {
            LogRollbackFailed(exception, _providerName, _dialect.Where);
        }
    }

    private void FailAll(List<WriteOperation> operations, Exception exception, string verb)
    {
        LogBatchFailed(exception, _providerName, _dialect.Where);
        foreach (var operation in operations)
        {
            operation.Error = _dialect.Failure(
                $"Failed to {verb} {_dialect.Where} (provider '{_providerName}') for grain type " +
                $"{operation.GrainType}, grain id {operation.GrainId}: {exception.Message}",
                exception);
        }
    }

    private Exception Failure(WriteOperation operation, DbException exception) =>
        _dialect.Failure(
            $"Failed to {(operation.Kind == WriteKind.Write ? "write" : "clear")} the state of grain type {operation.GrainType}, " +
            $"grain id {operation.GrainId} in {_dialect.Where} (provider '{_providerName}'): {exception.Message}",
            exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain storage {Name}: a batch of writes to {Where} failed")]
    private partial void LogBatchFailed(Exception exception, string name, string where);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain storage {Name}: the connection to {Where} was lost; reconnecting")]
    private partial void LogReconnecting(Exception exception, string name, string where);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain storage {Name}: rollback on {Where} failed")]
    private partial void LogRollbackFailed(Exception exception, string name, string where);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Grain storage {Name}: the write of {GrainType} {GrainId} aborted the transaction on {Where}; the rest of the batch is retried")]
    private partial void LogTransactionAborted(Exception? exception, string name, string where, string grainType, string grainId);

    /// <summary>The writer's connection with its prepared statements; replaced as a whole when the connection breaks.</summary>
    private sealed class Session : IDisposable
    {
        public Session(RelationalDialect dialect, DbConnection connection, string serviceId)
        {
            Connection = connection;
            try
            {
                Begin = Plain(dialect.Begin);
                Commit = Plain("COMMIT");
                Rollback = Plain("ROLLBACK");

                // ETags are never reused, so a state deleted and written again can never be overwritten by a holder
                // of an ETag from before the delete.
                ReserveEtags = connection.CreateCommand();
                ReserveEtags.CommandText = dialect.ReserveEtags;
                ReserveCount = RelationalDialect.AddParameter(ReserveEtags, "@n", DbType.Int64, 1L);
                ReserveEtags.Prepare();

                Insert = new KeyedCommand(connection, serviceId, RelationalDialect.Insert, withNewState: true, withOldEtag: false);
                Update = new KeyedCommand(connection, serviceId, RelationalDialect.Update, withNewState: true, withOldEtag: true);
                Delete = new KeyedCommand(connection, serviceId, RelationalDialect.Delete, withNewState: false, withOldEtag: true);
                SelectEtag = new KeyedCommand(connection, serviceId, RelationalDialect.SelectEtag, withNewState: false, withOldEtag: false);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        public DbConnection Connection { get; }

        public DbCommand Begin { get; }

        public DbCommand Commit { get; }

        public DbCommand Rollback { get; }

        public DbCommand ReserveEtags { get; }

        public DbParameter ReserveCount { get; }

        public KeyedCommand Insert { get; }

        public KeyedCommand Update { get; }

        public KeyedCommand Delete { get; }

        public KeyedCommand SelectEtag { get; }

        public void Dispose() => Connection.Dispose();

        // Transaction control is not prepared (PostgreSQL's PREPARE does not take it); SQLite keeps the compiled
        // statement of a command between executions anyway.
        private DbCommand Plain(string sql)
        {
            var command = Connection.CreateCommand();
            command.CommandText = sql;
            return command;
        }
    }

    /// <summary>
    /// A prepared statement keyed by (service id, grain type, grain id), with its parameters kept so that each
    /// execution only rebinds values.
    /// </summary>
    private sealed class KeyedCommand
    {
        private readonly DbCommand _command;
        private readonly DbParameter _grainType;
        private readonly DbParameter _grainId;
        private readonly DbParameter? _newEtag;
        private readonly DbParameter? _data;
        private readonly DbParameter? _modified;
        private readonly DbParameter? _oldEtag;

        public KeyedCommand(DbConnection connection, string serviceId, string sql, bool withNewState, bool withOldEtag)
        {
            _command = connection.CreateCommand();
            _command.CommandText = sql;
            RelationalDialect.AddParameter(_command, "@s", DbType.String, serviceId);
            _grainType = RelationalDialect.AddParameter(_command, "@t", DbType.String, string.Empty);
            _grainId = RelationalDialect.AddParameter(_command, "@g", DbType.String, string.Empty);
            if (withNewState)
            {
                _newEtag = RelationalDialect.AddParameter(_command, "@new", DbType.Int64, 0L);
                _data = RelationalDialect.AddParameter(_command, "@data", DbType.Binary, DBNull.Value);
                _modified = RelationalDialect.AddParameter(_command, "@m", DbType.Int64, 0L);
            }

            if (withOldEtag)
            {
                _oldEtag = RelationalDialect.AddParameter(_command, "@old", DbType.Int64, 0L);
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
