using System.Collections.Concurrent;
using System.Globalization;
using OrleansShards.Core;
using OrleansShards.Readers.Csv;

namespace OrleansShards.Readers.Objects;

/// <summary>
/// Objects in S3 buckets (<c>s3</c>) and Azure Blob containers (<c>azureblob</c>) as sources: the objects under a
/// prefix are assigned to partitions by the distribution strategy (<see cref="ObjectDistribution"/>), and a transformer
/// (csv, jsonl, tfrecord, raw) turns each object's bytes into records (<see cref="ObjectPartitionReader"/>).
/// </summary>
/// <remarks>
/// A job names a connection the operator defined in <c>Shards:Connections</c>; its credentials are references resolved
/// when the store is first opened and are never part of a locator, grain state, checkpoint or message. A partition's
/// locator (<see cref="ObjectLocator"/>) lists its objects with the ETags they had when the job was created, so objects
/// added later are not part of the job (live discovery of new objects needs live jobs, which do not exist yet), and
/// objects changed later fail the reads of their shards instead of serving other records.
/// Keys ending in <c>/</c> with no bytes (folder markers) are not objects of the source.
/// </remarks>
public sealed class ObjectSourceAdapter : OrleansShards.Readers.Live.ILiveSourceAdapter, IDisposable
{
    /// <summary>How long one listing of a watched prefix serves every partition's splitter.</summary>
    private static readonly TimeSpan ListingReuse = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, Task<IReadOnlyList<IReadOnlyList<ObjectInfo>>> Partitions)> _listings = new(StringComparer.Ordinal);
    private readonly SourceConnectionsOptions _connections;
    private readonly ObjectSourceOptions _options;
    private readonly Func<string, SourceConnection, IObjectStore> _storeFactory;
    private readonly ConcurrentDictionary<string, IObjectStore> _stores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Transformer, bool Header, char Delimiter), ObjectPartitionReader> _readers = new();

    /// <summary>Creates the adapter.</summary>
    /// <param name="connections">The operator's connections (<c>Shards:Connections</c>).</param>
    /// <param name="options">Cache and recheck settings; the defaults when <see langword="null"/>.</param>
    /// <param name="storeFactory">Opens the store of a connection (name, connection); <see langword="null"/> for <see cref="S3ObjectStore"/> and <see cref="AzureBlobObjectStore"/> by the connection's kind.</param>
    public ObjectSourceAdapter(SourceConnectionsOptions connections, ObjectSourceOptions? options = null, Func<string, SourceConnection, IObjectStore>? storeFactory = null)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
        _options = options ?? new ObjectSourceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.IndexStride, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxObjects, 1);
        _storeFactory = storeFactory ?? CreateStore;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Kinds => JobSpec.ObjectKinds;

    /// <inheritdoc />
    /// <remarks>Lists the objects under the prefix and assigns them to partitions; every partition's locator lists its objects.</remarks>
    public async ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var kind = KindOf(source);
        var (_, container) = ContainerOf(kind, source);
        var partitions = await ListPartitionsAsync(source, cancellationToken).ConfigureAwait(false);
        return [.. partitions.Select((items, p) => new ObjectLocator(kind, source.Connection!, container, p, items).ToString())];
    }

    /// <summary>The objects under the prefix, assigned to partitions in key order; a watched prefix may be empty.</summary>
    private async Task<IReadOnlyList<IReadOnlyList<ObjectInfo>>> ListPartitionsAsync(SourceSpec source, CancellationToken cancellationToken)
    {
        var kind = KindOf(source);
        var (field, container) = ContainerOf(kind, source);
        _ = ReaderFor(source);
        var store = Store(kind, source.Connection);
        var prefix = source.Prefix ?? "";
        var objects = new List<ObjectInfo>();
        try
        {
            await foreach (var item in store.ListAsync(container, prefix, cancellationToken).ConfigureAwait(false))
            {
                if (item.Key.EndsWith('/') && item.Size == 0)
                {
                    continue;
                }

                if (objects.Count == _options.MaxObjects)
                {
                    throw new SourceSpecException("source.prefix", string.Create(CultureInfo.InvariantCulture, $"more than {_options.MaxObjects} objects under '{prefix}' in {kind}://{container}: narrow the prefix"));
                }

                objects.Add(item);
            }
        }
        catch (ObjectStoreException e)
        {
            throw new SourceSpecException(field, e.Message);
        }

        if (objects.Count == 0 && source.Watch != true)
        {
            throw new SourceSpecException("source.prefix", $"no objects under '{prefix}' in {kind}://{container}");
        }

        return ObjectDistribution.Assign(objects, source.Distribution, source.Partitions, source.PartitionPattern);
    }

    /// <inheritdoc />
    public bool WakesOnAppend => false;

    /// <inheritdoc />
    public async ValueTask<PartitionBounds> GetBoundsAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default)
    {
        var layout = await ObjectReaderFor(source).DescribeObjectsAsync(locator, cancellationToken).ConfigureAwait(false);
        return new PartitionBounds(0, layout.RecordCount);
    }

    /// <inheritdoc />
    public async ValueTask<bool> WaitForRecordsAsync(SourceSpec source, string locator, long afterOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // A store cannot tell us of new objects: the splitter polls GrowAsync with back-off.
        await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Objects of the partition that the locator does not name yet are appended after the ones it names, in key order,
    /// so the offsets of every record already named stay where they were. An object named before and re-uploaded since
    /// keeps its pinned ETag: reading it fails its shards as changed rather than serving other records.
    /// </remarks>
    public async ValueTask<string?> GrowAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Watch != true)
        {
            return null;
        }

        var current = ObjectLocator.Parse(locator);
        var key = $"{KindOf(source)}|{source.Connection}|{current.Container}|{source.Prefix}|{source.Distribution}|{source.Partitions}|{source.PartitionPattern}";
        var now = DateTimeOffset.UtcNow;
        var listing = _listings.AddOrUpdate(
            key,
            _ => (now, ListPartitionsAsync(source, CancellationToken.None)),
            (_, known) => now - known.At < ListingReuse && !known.Partitions.IsFaulted ? known : (now, ListPartitionsAsync(source, CancellationToken.None)));
        var partitions = await listing.Partitions.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (current.Partition >= partitions.Count)
        {
            return null;
        }

        var named = current.Objects.Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        var added = partitions[current.Partition].Where(o => !named.Contains(o.Key)).ToList();
        return added.Count == 0
            ? null
            : new ObjectLocator(current.Kind, current.Connection, current.Container, current.Partition, [.. current.Objects, .. added]).ToString();
    }

    /// <inheritdoc />
    /// <exception cref="SourceSpecException">The transformer is unknown.</exception>
    public IPartitionReader ReaderFor(SourceSpec source) => ObjectReaderFor(source);

    /// <summary>The reader of <paramref name="source"/>, with its object-level view (<see cref="ObjectPartitionReader.DescribeObjectsAsync"/>).</summary>
    /// <exception cref="SourceSpecException">The transformer is unknown.</exception>
    public ObjectPartitionReader ObjectReaderFor(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var transformer = source.Transformer?.ToLowerInvariant();
        if (transformer is null || !JobSpec.Transformers.Contains(transformer))
        {
            throw new SourceSpecException("source.transformer", $"'{source.Transformer}' is not a transformer: one of {string.Join(", ", JobSpec.Transformers)}");
        }

        var header = source.Header ?? true;
        var delimiter = string.IsNullOrEmpty(source.Delimiter) ? ',' : source.Delimiter[0];
        return _readers.GetOrAdd((transformer, header, delimiter), key => new ObjectPartitionReader(
            key.Transformer, new CsvReaderOptions { Header = key.Header, Delimiter = key.Delimiter }, _options, locator => Store(locator.Kind, locator.Connection)));
    }

    /// <inheritdoc />
    public string Display(string locator) => ObjectLocator.TryParse(locator, out var parsed) ? parsed.Display() : locator;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var store in _stores.Values)
        {
            (store as IDisposable)?.Dispose();
        }

        _stores.Clear();
    }

    private static string KindOf(SourceSpec source)
    {
        var kind = source.Kind.ToLowerInvariant();
        return JobSpec.ObjectKinds.Contains(kind)
            ? kind
            : throw new SourceSpecException("source.kind", $"'{source.Kind}' is not an object source kind: one of {string.Join(", ", JobSpec.ObjectKinds)}");
    }

    private static (string Field, string Container) ContainerOf(string kind, SourceSpec source)
    {
        var (field, value) = kind == "s3" ? ("source.bucket", source.Bucket) : ("source.container", source.Container);
        return string.IsNullOrWhiteSpace(value) ? throw new SourceSpecException(field, "is required") : (field, value);
    }

    /// <summary>The store of a connection, opened (and its secret resolved) on first use.</summary>
    /// <exception cref="SourceSpecException">No such connection, one of another kind, or one whose credentials cannot be resolved.</exception>
    private IObjectStore Store(string kind, string? name)
    {
        var connection = _connections.Get(name, kind);
        try
        {
            // A factory that throws adds nothing: a secret set later is picked up by the next call.
            return _stores.GetOrAdd(name!, n => _storeFactory(n, connection));
        }
        catch (InvalidOperationException e)
        {
            throw new SourceSpecException("source.connection", e.Message);
        }
        catch (UriFormatException e)
        {
            throw new SourceSpecException("source.connection", $"connection '{name}': its ServiceUrl is not a URL: {e.Message}");
        }
    }

    private static IObjectStore CreateStore(string name, SourceConnection connection) => connection.Kind.ToLowerInvariant() switch
    {
        "s3" => new S3ObjectStore(name, connection),
        "azureblob" => new AzureBlobObjectStore(name, connection),
        _ => throw new InvalidOperationException($"connection '{name}' is a {connection.Kind} connection, not an object store"),
    };
}
