using System.Collections.Concurrent;
using System.Data;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Counters of a <see cref="SqliteGrainStorage"/>, read without locks; for monitoring and for proving group commit.
/// </summary>
/// <param name="Transactions">Write transactions committed since the storage opened.</param>
/// <param name="Writes">Writes and clears committed in those transactions (ETag conflicts and failed writes excluded).</param>
/// <param name="LargestBatch">Most writes committed in one transaction.</param>
/// <param name="Pending">Writes accepted and not yet completed: waiting for the writer, or in the transaction being committed.</param>
public readonly record struct SqliteGrainStorageStatistics(long Transactions, long Writes, int LargestBatch, int Pending);

/// <summary>
/// Orleans grain storage in one SQLite file (WAL). Every write of every grain on the silo goes through one writer
/// that commits all writes waiting at the time in one transaction (group commit), so the commit rate, not the
/// write rate, is bounded by the disk's fsync rate. Reads use their own connections and run beside the writer.
/// ETags are integers from a per-file counter; a write or clear whose ETag does not match the stored one throws
/// <see cref="InconsistentStateException"/>, as Orleans' own providers do.
/// </summary>
public sealed partial class SqliteGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly string _name;
    private readonly SqliteGrainStorageOptions _options;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activatorProvider;
    private readonly ILogger<SqliteGrainStorage> _logger;
    private readonly string _serviceId;
    private readonly string? _path;
    private readonly object _stateLock = new();
    private readonly ConcurrentQueue<ReadConnection> _readers = new();
    private readonly int _maxIdleReaders = Math.Max(4, Environment.ProcessorCount * 2);
    private int _idleReaders;
    private SqliteStateWriter? _writer;
    private bool _closed;

    /// <summary>
    /// Creates the storage; the file is opened by <see cref="InitializeAsync"/>, which the silo lifecycle calls
    /// at <see cref="SqliteGrainStorageOptions.InitStage"/>, or else by the first operation.
    /// </summary>
    public SqliteGrainStorage(
        string name,
        SqliteGrainStorageOptions options,
        IGrainStorageSerializer grainStorageSerializer,
        IOptions<ClusterOptions> clusterOptions,
        IActivatorProvider activatorProvider,
        ILogger<SqliteGrainStorage> logger)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        _name = name;
        _options = options;
        _serializer = options.GrainStorageSerializer ?? grainStorageSerializer;
        _activatorProvider = activatorProvider;
        _logger = logger;
        _serviceId = clusterOptions.Value.ServiceId ?? string.Empty;
        _path = string.IsNullOrWhiteSpace(options.DataSource) ? null : Path.GetFullPath(options.DataSource);
    }

    /// <summary>The full path of the database file.</summary>
    public string? DataSource => _path;

    /// <summary>Counters of the writer; zero before the file is opened.</summary>
    public SqliteGrainStorageStatistics Statistics =>
        Volatile.Read(ref _writer) is { } writer
            ? new SqliteGrainStorageStatistics(writer.Transactions, writer.Writes, writer.LargestBatch, writer.Pending)
            : default;

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(OptionFormattingUtilities.Name<SqliteGrainStorage>(_name), _options.InitStage, InitializeAsync, CloseAsync);

    /// <summary>
    /// Opens (creating when missing) the database file, switches it to WAL, applies the synchronous mode and
    /// creates the table. Throws <see cref="SqliteStorageException"/> naming the file and SQLite's reason when the
    /// file is not a SQLite database, is corrupt or cannot be opened.
    /// </summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            EnsureOpen();
            return Task.CompletedTask;
        }
        catch (Exception exception)
        {
            return Task.FromException(exception);
        }
    }

    /// <summary>
    /// Commits every write already queued, then closes the file. Later operations fail.
    /// </summary>
    public Task CloseAsync(CancellationToken cancellationToken = default)
    {
        SqliteStateWriter? writer;
        lock (_stateLock)
        {
            _closed = true;
            writer = _writer;
            Volatile.Write(ref _writer, null);
        }

        writer?.Dispose();
        DisposeIdleReaders();

        if (writer is not null)
        {
            LogClosed(_name, _path);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose() => CloseAsync().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(grainType, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        // SQLite reads are synchronous and, from the page cache, take microseconds: an async hop would cost more.
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var id = grainId.ToString();
        bool found;
        long etag;
        byte[]? data;
        try
        {
            EnsureOpen();
            (found, etag, data) = ReadRow(grainType, id);
        }
        catch (Exception exception)
        {
            LogReadFailed(exception, _name, grainType, id, _path);
            return Task.FromException(Wrap(exception, "read", grainType, id));
        }

        if (!found)
        {
            grainState.ETag = null;
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }

        if (data is null)
        {
            // A row kept by a clear (DeleteStateOnClear = false): the ETag matters, the data does not exist.
            grainState.ETag = etag.ToString(CultureInfo.InvariantCulture);
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }

        T? state;
        try
        {
            state = _serializer.Deserialize<T>(new BinaryData(data));
        }
        catch (Exception exception)
        {
            return Task.FromException(new SqliteStorageException(
                $"Failed to deserialize the state of grain type {grainType}, grain id {id} read from the SQLite grain storage " +
                $"file '{_path}' (provider '{_name}') as {typeof(T)}: {exception.Message}",
                exception));
        }

        grainState.State = state ?? CreateInstance<T>();
        grainState.ETag = etag.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task WriteStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(grainType, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    /// <remarks>The token is honoured until the write is queued; a queued write is committed with its batch.</remarks>
    public async Task WriteStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = grainId.ToString();
        var expected = ParseEtag(grainState.ETag, "WriteState", grainType, id);
        byte[] data;
        try
        {
            data = ToArray(_serializer.Serialize(grainState.State));
        }
        catch (Exception exception)
        {
            throw new SqliteStorageException(
                $"Failed to serialize the state of grain type {grainType}, grain id {id} for the SQLite grain storage file '{_path}' " +
                $"(provider '{_name}'): {exception.Message}",
                exception);
        }

        var newEtag = await Enqueue(WriteKind.Write, grainType, id, expected, data).ConfigureAwait(false);
        grainState.ETag = newEtag.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    /// <inheritdoc/>
    public Task ClearStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(grainType, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    /// <remarks>The token is honoured until the clear is queued; a queued clear is committed with its batch.</remarks>
    public async Task ClearStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = grainId.ToString();
        var expected = ParseEtag(grainState.ETag, "ClearState", grainType, id);
        var kind = _options.DeleteStateOnClear ? WriteKind.Delete : WriteKind.Tombstone;
        var newEtag = await Enqueue(kind, grainType, id, expected, data: null).ConfigureAwait(false);
        grainState.ETag = kind == WriteKind.Delete ? null : newEtag.ToString(CultureInfo.InvariantCulture);
        grainState.State = CreateInstance<T>();
        grainState.RecordExists = false;
    }

    private ValueTask<long> Enqueue(WriteKind kind, string grainType, string grainId, long? expected, byte[]? data)
    {
        SqliteStateWriter writer;
        try
        {
            writer = EnsureOpen();
        }
        catch (Exception exception)
        {
            throw Wrap(exception, kind == WriteKind.Write ? "write" : "clear", grainType, grainId);
        }

        var operation = WriteOperation.Rent();
        operation.Kind = kind;
        operation.GrainType = grainType;
        operation.GrainId = grainId;
        operation.ExpectedEtag = expected;
        operation.Data = data;
        var pending = operation.AsValueTask();
        if (!writer.TryEnqueue(operation))
        {
            throw new SqliteStorageException(
                $"Failed to {(kind == WriteKind.Write ? "write" : "clear")} the state of grain type {grainType}, grain id {grainId}: " +
                $"the SQLite grain storage file '{_path}' (provider '{_name}') is closed.");
        }

        return pending;
    }

    private long? ParseEtag(string? etag, string operation, string grainType, string grainId)
    {
        if (etag is null)
        {
            return null;
        }

        if (long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        // An ETag this store never issued cannot match the stored one.
        throw new InconsistentStateException(
            $"Version conflict ({operation}): ServiceId={_serviceId} ProviderName={_name} GrainType={grainType} GrainId={grainId} " +
            $"ETag={etag} is not an ETag of the SQLite grain storage file '{_path}'.",
            storedEtag: null,
            currentEtag: etag);
    }

    private (bool Found, long Etag, byte[]? Data) ReadRow(string grainType, string grainId)
    {
        var reader = RentReader();
        try
        {
            var result = reader.Read(grainType, grainId);
            ReturnReader(reader);
            return result;
        }
        catch
        {
            // A connection that failed may be in any state: do not hand it to the next reader.
            reader.Dispose();
            throw;
        }
    }

    private ReadConnection RentReader()
    {
        if (_readers.TryDequeue(out var reader))
        {
            Interlocked.Decrement(ref _idleReaders);
            return reader;
        }

        return new ReadConnection(ConnectionString(SqliteOpenMode.ReadWrite), _serviceId);
    }

    private void ReturnReader(ReadConnection reader)
    {
        if (Volatile.Read(ref _closed))
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
        if (Volatile.Read(ref _closed))
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

    private SqliteStateWriter EnsureOpen()
    {
        if (Volatile.Read(ref _writer) is { } writer)
        {
            return writer;
        }

        lock (_stateLock)
        {
            if (_writer is not null)
            {
                return _writer;
            }

            if (_closed)
            {
                throw new SqliteStorageException($"The SQLite grain storage file '{_path}' (provider '{_name}') is closed.");
            }

            var opened = Open();
            Volatile.Write(ref _writer, opened);
            return opened;
        }
    }

    private SqliteStateWriter Open()
    {
        if (_path is null)
        {
            throw new SqliteStorageException(
                $"SQLite grain storage '{_name}' has no database file: {nameof(SqliteGrainStorageOptions)}.{nameof(SqliteGrainStorageOptions.DataSource)} is required.");
        }

        SqliteConnection? connection = null;
        try
        {
            var directory = Path.GetDirectoryName(_path);
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
                    $"SQLite grain storage '{_name}' cannot use the database file '{_path}': WAL journal mode could not be enabled " +
                    $"(journal_mode is '{journalMode}').");
            }

            var synchronous = _options.Synchronous == SqliteSynchronousMode.Normal ? "NORMAL" : "FULL";
            Execute(connection, $"PRAGMA synchronous = {synchronous}");
            Execute(connection, "BEGIN IMMEDIATE;" + SqliteSchema.Create + "COMMIT;");

            // Preparing the read statement checks that a table of the same name, if it was already there, has our columns.
            ReturnReader(RentReader());
            var writer = new SqliteStateWriter(connection, _serviceId, _name, _path, _options.MaxBatchSize, TimeProvider.System, _logger);
            LogOpened(_name, _path, synchronous);
            return writer;
        }
        catch (Exception exception) when (exception is SqliteException or IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            connection?.Dispose();
            LogOpenFailed(exception, _name, _path);
            throw new SqliteStorageException(
                $"SQLite grain storage '{_name}' cannot use the database file '{_path}': {exception.Message}", exception);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    private string ConnectionString(SqliteOpenMode mode) => new SqliteConnectionStringBuilder
    {
        DataSource = _path,
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

    private static byte[] ToArray(BinaryData data)
    {
        var memory = data.ToMemory();
        if (MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length)
        {
            return segment.Array;
        }

        return memory.ToArray();
    }

    private Exception Wrap(Exception exception, string verb, string grainType, string grainId) => exception switch
    {
        InconsistentStateException => exception,
        _ => new SqliteStorageException(
            $"Failed to {verb} the state of grain type {grainType}, grain id {grainId} in the SQLite grain storage file '{_path}' " +
            $"(provider '{_name}'): {exception.Message}",
            exception),
    };

    private T CreateInstance<T>() => _activatorProvider.GetActivator<T>().Create();

    [LoggerMessage(Level = LogLevel.Information, Message = "SQLite grain storage {Name} opened {Path} (WAL, synchronous={Synchronous})")]
    private partial void LogOpened(string name, string? path, string synchronous);

    [LoggerMessage(Level = LogLevel.Information, Message = "SQLite grain storage {Name} closed {Path}")]
    private partial void LogClosed(string name, string? path);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite grain storage {Name} cannot use {Path}")]
    private partial void LogOpenFailed(Exception exception, string name, string? path);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite grain storage {Name}: reading {GrainType} {GrainId} from {Path} failed")]
    private partial void LogReadFailed(Exception exception, string name, string grainType, string grainId, string? path);

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
                _select.CommandText = SqliteSchema.Select;
                _select.Parameters.Add("$s", SqliteType.Text).Value = serviceId;
                _grainType = _select.Parameters.Add("$t", SqliteType.Text);
                _grainId = _select.Parameters.Add("$g", SqliteType.Text);
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

        public (bool Found, long Etag, byte[]? Data) Read(string grainType, string grainId)
        {
            _grainType.Value = grainType;
            _grainId.Value = grainId;
            using var reader = _select.ExecuteReader(CommandBehavior.SingleRow);
            if (!reader.Read())
            {
                return (false, 0, null);
            }

            var etag = reader.GetInt64(0);
            var data = reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1);
            return (true, etag, data);
        }

        public void Dispose() => _connection.Dispose();
    }
}
