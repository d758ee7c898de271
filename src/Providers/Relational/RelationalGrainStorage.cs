using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansShards.Providers.Relational;

/// <summary>
/// Orleans grain storage in one table of a relational database, in two dialects: SQLite (<c>SqliteGrainStorage</c>)
/// and PostgreSQL (<c>PostgresGrainStorage</c>). Every write of every grain on the silo goes through one writer that
/// commits all writes waiting at the time in one transaction (group commit), so the commit rate, not the write rate,
/// is bounded by the disk's fsync rate. Reads run beside the writer. ETags are integers that are never reused; a write
/// or clear whose ETag does not match the stored one throws <see cref="InconsistentStateException"/>, as Orleans' own
/// providers do.
/// </summary>
public abstract partial class RelationalGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly string _name;
    private readonly RelationalDialect _dialect;
    private readonly RelationalGrainStorageOptions _options;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activatorProvider;
    private readonly ILogger _logger;
    private readonly string _serviceId;
    private readonly object _stateLock = new();
    private RelationalStateWriter? _writer;
    private bool _closed;

    private protected RelationalGrainStorage(
        string name,
        RelationalDialect dialect,
        RelationalGrainStorageOptions options,
        IGrainStorageSerializer grainStorageSerializer,
        IOptions<ClusterOptions> clusterOptions,
        IActivatorProvider activatorProvider,
        ILogger logger)
    {
        _name = name;
        _dialect = dialect;
        _options = options;
        _serializer = options.GrainStorageSerializer ?? grainStorageSerializer;
        _activatorProvider = activatorProvider;
        _logger = logger;
        _serviceId = clusterOptions.Value.ServiceId ?? string.Empty;
    }

    /// <summary>The provider name this storage is registered under.</summary>
    public string Name => _name;

    /// <summary>Counters of the writer; zero before the database is opened.</summary>
    public RelationalGrainStorageStatistics Statistics =>
        Volatile.Read(ref _writer) is { } writer
            ? new RelationalGrainStorageStatistics(writer.Transactions, writer.Writes, writer.LargestBatch, writer.Pending)
            : default;

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(OptionFormattingUtilities.Name<RelationalGrainStorage>(_name), _options.InitStage, InitializeAsync, CloseAsync);

    /// <summary>
    /// Opens the database (creating the file, or the table in an empty database, when missing). Throws the dialect's
    /// storage exception naming the database and the reason when it cannot be used.
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
    /// Commits every write already queued, then closes the database. Later operations fail.
    /// </summary>
    public Task CloseAsync(CancellationToken cancellationToken = default)
    {
        RelationalStateWriter? writer;
        lock (_stateLock)
        {
            _closed = true;
            writer = _writer;
            Volatile.Write(ref _writer, null);
        }

        writer?.Dispose();
        _dialect.Dispose();

        if (writer is not null)
        {
            LogClosed(_name, _dialect.Where);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        CloseAsync().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <summary>Whether <see cref="CloseAsync"/> ran.</summary>
    private protected bool IsClosed => Volatile.Read(ref _closed);

    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(grainType, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var id = grainId.ToString();
        ValueTask<StoredRow> read;
        try
        {
            EnsureOpen();
            read = _dialect.ReadAsync(_serviceId, grainType, id, cancellationToken);
        }
        catch (Exception exception)
        {
            LogReadFailed(exception, _name, grainType, id, _dialect.Where);
            return Task.FromException(Wrap(exception, "read", grainType, id));
        }

        // SQLite reads are synchronous and, from the page cache, take microseconds: no async state machine for them.
        if (read.IsCompletedSuccessfully)
        {
            return Apply(read.Result, grainType, id, grainState);
        }

        return AwaitRead(read, grainType, id, grainState);
    }

    private async Task AwaitRead<T>(ValueTask<StoredRow> read, string grainType, string id, IGrainState<T> grainState)
    {
        StoredRow row;
        try
        {
            row = await read.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogReadFailed(exception, _name, grainType, id, _dialect.Where);
            throw Wrap(exception, "read", grainType, id);
        }

        await Apply(row, grainType, id, grainState).ConfigureAwait(false);
    }

    private Task Apply<T>(StoredRow row, string grainType, string id, IGrainState<T> grainState)
    {
        if (!row.Found)
        {
            grainState.ETag = null;
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }

        if (row.Data is null)
        {
            // A row kept by a clear (DeleteStateOnClear = false): the ETag matters, the data does not exist.
            grainState.ETag = row.Etag.ToString(CultureInfo.InvariantCulture);
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }

        T? state;
        try
        {
            state = _serializer.Deserialize<T>(new BinaryData(row.Data));
        }
        catch (Exception exception)
        {
            return Task.FromException(_dialect.Failure(
                $"Failed to deserialize the state of grain type {grainType}, grain id {id} read from {_dialect.Where} " +
                $"(provider '{_name}') as {typeof(T)}: {exception.Message}",
                exception));
        }

        grainState.State = state ?? CreateInstance<T>();
        grainState.ETag = row.Etag.ToString(CultureInfo.InvariantCulture);
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
            throw _dialect.Failure(
                $"Failed to serialize the state of grain type {grainType}, grain id {id} for {_dialect.Where} " +
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
        RelationalStateWriter writer;
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
            throw _dialect.Failure(
                $"Failed to {(kind == WriteKind.Write ? "write" : "clear")} the state of grain type {grainType}, grain id {grainId}: " +
                $"{_dialect.Where} (provider '{_name}') is closed.", null);
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
            $"ETag={etag} is not an ETag of {_dialect.Where}.",
            storedEtag: null,
            currentEtag: etag);
    }

    private RelationalStateWriter EnsureOpen()
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
                throw _dialect.Failure($"{Capitalized(_dialect.Where)} (provider '{_name}') is closed.", null);
            }

            try
            {
                var connection = _dialect.OpenWriter(_serviceId);
                var opened = new RelationalStateWriter(_dialect, connection, _serviceId, _name, _options.MaxBatchSize, TimeProvider.System, _logger);
                LogOpened(_name, _dialect.Where);
                Volatile.Write(ref _writer, opened);
                return opened;
            }
            catch (Exception exception)
            {
                LogOpenFailed(exception, _name, _dialect.Where);
                throw;
            }
        }
    }

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

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
        _ => _dialect.Failure(
            $"Failed to {verb} the state of grain type {grainType}, grain id {grainId} in {_dialect.Where} " +
            $"(provider '{_name}'): {exception.Message}",
            exception),
    };

    private T CreateInstance<T>() => _activatorProvider.GetActivator<T>().Create();

    [LoggerMessage(Level = LogLevel.Information, Message = "Grain storage {Name} opened {Where}")]
    private partial void LogOpened(string name, string where);

    [LoggerMessage(Level = LogLevel.Information, Message = "Grain storage {Name} closed {Where}")]
    private partial void LogClosed(string name, string where);

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain storage {Name} cannot use {Where}")]
    private partial void LogOpenFailed(Exception exception, string name, string where);

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain storage {Name}: reading {GrainType} {GrainId} from {Where} failed")]
    private partial void LogReadFailed(Exception exception, string name, string grainType, string grainId, string where);
}
