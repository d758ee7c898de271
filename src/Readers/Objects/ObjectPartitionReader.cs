using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using OrleansShards.Readers.Csv;

namespace OrleansShards.Readers.Objects;

/// <summary>
/// Reads the partitions of an object source: a partition's records are its objects' records, object after object in key
/// order, each object's bytes turned into records by the transformer. Offsets are 64-bit record indexes over the partition.
/// </summary>
/// <remarks>
/// <para>
/// csv, jsonl and tfrecord objects are streamed to a local file (a cache keyed by connection, container, key and ETag,
/// bounded by <see cref="ObjectSourceOptions.CacheMaxBytes"/>: see <see cref="ObjectCache"/>)
/// and read by <see cref="CsvPartitionReader"/>, <see cref="JsonLines.JsonLinesPartitionReader"/> and
/// <see cref="TfRecord.TfRecordPartitionReader"/>: the same parsing and errors as file sources, a sparse index per object, and a
/// read of a range seeks in the local file instead of fetching and parsing the object from its start. Memory stays bounded
/// by the batch whatever the object's size. A download is a GET with <c>If-Match</c> on the pinned ETag, and is resumed
/// with a ranged GET after a broken connection; reads from a local copy ask the store (a HEAD) whether the object is still
/// that version, at most once per <see cref="ObjectSourceOptions.RecheckInterval"/>. A re-uploaded object fails reads
/// with <see cref="SourceChangedException"/> naming its bucket and key.
/// </para>
/// <para>
/// The raw transformer makes one record per object, columns <c>key</c> and <c>bytes</c> (base64 in JSON); it reads the
/// object into the record, so objects above <see cref="ObjectSourceOptions.MaxRawObjectBytes"/> are refused (malformed).
/// </para>
/// </remarks>
public sealed class ObjectPartitionReader : IPartitionReader
{
    private readonly IPartitionReader? _inner;
    private readonly ObjectSourceOptions _options;
    private readonly Func<ObjectLocator, IObjectStore> _stores;
    private readonly ObjectCache _cache;
    private readonly ConcurrentDictionary<string, Task<ObjectPartitionLayout>> _layouts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _checked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<string>> _downloads = new(StringComparer.Ordinal);
    private long _downloadCount;

    /// <summary>Creates a reader.</summary>
    /// <param name="transformer">csv, jsonl, tfrecord or raw.</param>
    /// <param name="csv">How csv objects are parsed.</param>
    /// <param name="options">Cache and recheck settings.</param>
    /// <param name="stores">The store of a partition's connection.</param>
    public ObjectPartitionReader(string transformer, CsvReaderOptions? csv, ObjectSourceOptions options, Func<ObjectLocator, IObjectStore> stores)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stores);
        Transformer = transformer.ToLowerInvariant();
        _options = options;
        _stores = stores;
        _cache = ObjectCache.For(options.EffectiveCacheDirectory, options.CacheMaxBytes);
        _inner = Transformer switch
        {
            "raw" => null,
            "csv" => new CsvPartitionReader((csv ?? new CsvReaderOptions()) with { IndexStride = options.IndexStride }),
            "jsonl" or "tfrecord" => PartitionReaders.ForKind(Transformer, indexStride: options.IndexStride),
            _ => throw new ArgumentException($"'{transformer}' is not a transformer: one of csv, jsonl, tfrecord, raw", nameof(transformer)),
        };
    }

    /// <summary>The transformer: csv, jsonl, tfrecord or raw.</summary>
    public string Transformer { get; }

    /// <summary>The local copies this reader reads from (shared by the readers of the same cache directory).</summary>
    public ObjectCache Cache => _cache;

    /// <summary>How many objects this reader downloaded (for tests and metrics).</summary>
    public long DownloadCount => Interlocked.Read(ref _downloadCount);

    /// <inheritdoc />
    public async ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
    {
        var layout = await DescribeObjectsAsync(path, cancellationToken).ConfigureAwait(false);
        return new PartitionDescription(path, layout.RecordCount, FingerprintOf(layout.Locator), layout.Columns);
    }

    /// <summary>The partition's objects with their offset entries (key, version, first record, records).</summary>
    /// <exception cref="SourceChangedException">An object is gone or was re-uploaded since the partition was listed.</exception>
    /// <exception cref="IOException">An object cannot be read; the message names its bucket and key.</exception>
    public async ValueTask<ObjectPartitionLayout> DescribeObjectsAsync(string path, CancellationToken cancellationToken = default)
    {
        var locator = ObjectLocator.Parse(path);
        var task = _layouts.GetOrAdd(path, key =>
        {
            // A watched partition grows into a new locator (its objects, then more) and is never read through the old
            // one again: drop the layouts of the locators it grew from, so a long-running watch does not pile them up.
            var identity = string.Create(CultureInfo.InvariantCulture, $"{locator.Kind}://{Uri.EscapeDataString(locator.Connection)}/{Uri.EscapeDataString(locator.Container)}/{locator.Partition}?");
            foreach (var older in _layouts.Keys.Where(k => k != key && k.StartsWith(identity, StringComparison.Ordinal)))
            {
                if (ObjectLocator.TryParse(older, out var previous) && previous.Objects.Count < locator.Objects.Count
                    && previous.Objects.Select(o => (o.Key, o.ETag)).SequenceEqual(locator.Objects.Take(previous.Objects.Count).Select(o => (o.Key, o.ETag))))
                {
                    _layouts.TryRemove(older, out _);
                }
            }

            return Task.Run(() => BuildLayoutAsync(locator), CancellationToken.None);
        });
        try
        {
            return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (task.IsFaulted || task.IsCanceled)
        {
            // A failed description is not kept: the next caller tries again.
            _layouts.TryRemove(KeyValuePair.Create(path, task));
            throw;
        }
    }

    /// <summary>What a job pins of a partition: the total size of its objects and the hash of their keys, ETags and sizes.</summary>
    public static FileFingerprint FingerprintOf(ObjectLocator locator)
    {
        ArgumentNullException.ThrowIfNull(locator);
        return new FileFingerprint(locator.TotalSize, 0, locator.ListHash);
    }

    /// <inheritdoc />
    public async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Expected, nameof(request));
        var locator = ObjectLocator.Parse(request.Path);
        var pinned = FingerprintOf(locator);
        // A live (watched) partition has no fingerprint of its own: its locator, which names every object with its ETag, is the pin.
        var live = request.Expected is { Length: 0, LastWriteTimeUtcTicks: 0, ContentHash: 0 };
        if (!live && (pinned.Length != request.Expected.Length || pinned.ContentHash != request.Expected.ContentHash))
        {
            throw new SourceChangedException(locator.Display(), "the partition's object list is not the one the job pinned");
        }

        var layout = await DescribeObjectsAsync(request.Path, cancellationToken).ConfigureAwait(false);
        ReaderCore.CheckRange(request, layout.RecordCount, locator.Display(), $"partition's {layout.RecordCount} records");
        var count = ReaderCore.CountToRead(request, locator.Display());

        return Transformer == "raw"
            ? await ReadRawAsync(locator, request.Start, count, request.Columns, cancellationToken).ConfigureAwait(false)
            : await ReadTransformedAsync(layout, request.Start, request.Start + count, request.Columns, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ObjectPartitionLayout> BuildLayoutAsync(ObjectLocator locator)
    {
        var objects = locator.Objects;
        var counts = new long[objects.Count];
        var hashes = new ulong[objects.Count];
        var columns = new IReadOnlyList<string>[objects.Count];
        if (_inner is null)
        {
            Array.Fill(counts, 1);
        }
        else
        {
            var store = StoreOf(locator);
            await Parallel.ForEachAsync(Enumerable.Range(0, objects.Count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.DownloadParallelism) }, async (i, ct) =>
            {
                var item = objects[i];
                using var lease = await EnsureLocalAsync(store, locator, item, ct).ConfigureAwait(false);
                var local = lease.Path;
                var description = await Translate(locator, item, local, () => _inner.DescribeAsync(local, ct)).ConfigureAwait(false);
                counts[i] = description.RecordCount;
                hashes[i] = description.Fingerprint.ContentHash;
                columns[i] = description.Columns;
            }).ConfigureAwait(false);
        }

        var entries = new ObjectOffsetEntry[objects.Count];
        long first = 0;
        for (var i = 0; i < objects.Count; i++)
        {
            entries[i] = new ObjectOffsetEntry(objects[i].Key, objects[i].ETag, objects[i].Size, first, counts[i]);
            first = checked(first + counts[i]);
        }

        IReadOnlyList<string> known = _inner is null
            ? RawObjectBatch.AllColumns
            : Enumerable.Range(0, objects.Count).Where(i => counts[i] > 0).Select(i => columns[i]).FirstOrDefault() ?? [];
        return new ObjectPartitionLayout(locator, entries, hashes, known);
    }

    private async Task<RecordBatch> ReadTransformedAsync(ObjectPartitionLayout layout, long start, long end, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        var locator = layout.Locator;
        var parts = new List<RecordBatch>();
        try
        {
            if (start < end)
            {
                var store = StoreOf(locator);
                for (var i = layout.ObjectAt(start); i < layout.Entries.Count && layout.Entries[i].FirstRecord < end; i++)
                {
                    var entry = layout.Entries[i];
                    var from = Math.Max(start, entry.FirstRecord) - entry.FirstRecord;
                    var to = Math.Min(end, entry.FirstRecord + entry.Records) - entry.FirstRecord;
                    if (to <= from)
                    {
                        continue;
                    }

                    var item = locator.Objects[i];
                    await CheckCurrentAsync(store, locator, item, cancellationToken).ConfigureAwait(false);
                    using var lease = await EnsureLocalAsync(store, locator, item, cancellationToken).ConfigureAwait(false);
                    var local = lease.Path;
                    var description = await Translate(locator, item, local, () => _inner!.DescribeAsync(local, cancellationToken)).ConfigureAwait(false);
                    if (description.Fingerprint.ContentHash != layout.LocalHashes[i] || description.RecordCount != entry.Records)
                    {
                        throw new SourceChangedException(locator.ObjectName(item), "its local copy no longer holds the bytes that were described");
                    }

                    var read = new ShardReadRequest(local, description.Fingerprint, from, to, columns);
                    parts.Add(await Translate(locator, item, local, () => _inner!.ReadAsync(read, cancellationToken)).ConfigureAwait(false));
                }
            }

            return new ConcatRecordBatch(parts, columns ?? layout.Columns);
        }
        catch
        {
            foreach (var part in parts)
            {
                part.Dispose();
            }

            throw;
        }
    }

    private async Task<RecordBatch> ReadRawAsync(ObjectLocator locator, long start, int count, IReadOnlyList<string>? requested, CancellationToken cancellationToken)
    {
        var columns = requested is null ? RawObjectBatch.AllColumns : [.. requested];
        if (columns.Any(c => Array.IndexOf(RawObjectBatch.AllColumns, c) < 0) || columns.Distinct(StringComparer.Ordinal).Count() != columns.Length)
        {
            throw new ArgumentException($"{locator.Display()}: the raw transformer's columns are 'key' and 'bytes', each at most once; asked for {string.Join(", ", columns.Select(c => $"'{c}'"))}", nameof(requested));
        }

        var withBytes = columns.Contains("bytes");
        var store = StoreOf(locator);
        var records = new List<(string Key, byte[]? Bytes)>(count);
        for (var i = start; i < start + count; i++)
        {
            var item = locator.Objects[(int)i];
            var name = locator.ObjectName(item);
            if (!withBytes)
            {
                await CheckCurrentAsync(store, locator, item, cancellationToken).ConfigureAwait(false);
                records.Add((item.Key, null));
                continue;
            }

            if (item.Size > _options.MaxRawObjectBytes)
            {
                throw new MalformedRecordException(name, 0, 0, $"the object is {item.Size} bytes, more than the {_options.MaxRawObjectBytes} bytes a raw record may hold");
            }

            var bytes = new byte[item.Size];
            await StoreCall(locator, item, async () =>
            {
                await using var stream = await store.OpenReadAsync(locator.Container, item, 0, cancellationToken).ConfigureAwait(false);
                var read = await stream.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read != bytes.Length || stream.ReadByte() >= 0)
                {
                    throw new SourceChangedException(name, string.Create(CultureInfo.InvariantCulture, $"it is no longer {item.Size} bytes long"));
                }

                return 0;
            }).ConfigureAwait(false);
            records.Add((item.Key, bytes));
        }

        return new RawObjectBatch(records, columns);
    }

    /// <summary>Asks the store whether the object is still the pinned version, at most once per recheck interval.</summary>
    private async Task CheckCurrentAsync(IObjectStore store, ObjectLocator locator, ObjectInfo item, CancellationToken cancellationToken)
    {
        var key = $"{locator.Kind}\0{locator.Connection}\0{locator.Container}\0{item.Key}\0{item.ETag}";
        if (_checked.TryGetValue(key, out var last) && Stopwatch.GetElapsedTime(last) < _options.RecheckInterval)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        var current = await StoreCall(locator, item, () => store.HeadAsync(locator.Container, item.Key, cancellationToken)).ConfigureAwait(false);
        if (current is null)
        {
            throw new SourceChangedException(locator.ObjectName(item), "the object no longer exists");
        }

        if (!string.Equals(current.ETag, item.ETag, StringComparison.Ordinal))
        {
            throw new SourceChangedException(locator.ObjectName(item), $"it was re-uploaded: its ETag is {current.ETag}, the job pinned {item.ETag}");
        }

        _checked[key] = now;
    }

    /// <summary>
    /// A lease on the local copy of an object version, downloaded when missing: the copy is not evicted from the cache
    /// until the caller disposes the lease.
    /// </summary>
    private async Task<ObjectCache.Lease> EnsureLocalAsync(IObjectStore store, ObjectLocator locator, ObjectInfo item, CancellationToken cancellationToken)
    {
        var path = _cache.PathOf($"{locator.Kind}\0{locator.Connection}\0{locator.Container}\0{item.Key}", $"{item.ETag}\0{item.Size}");
        var lease = _cache.Acquire(path);
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length == item.Size)
            {
                return lease;
            }

            var task = _downloads.GetOrAdd(path, p => Task.Run(() => DownloadAsync(store, locator, item, p), CancellationToken.None));
            try
            {
                await task.WaitAsync(cancellationToken).ConfigureAwait(false);
                return lease;
            }
            finally
            {
                if (task.IsCompleted)
                {
                    _downloads.TryRemove(KeyValuePair.Create(path, task));
                }
            }
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private async Task<string> DownloadAsync(IObjectStore store, ObjectLocator locator, ObjectInfo item, string path)
    {
        var name = locator.ObjectName(item);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.part";
        try
        {
            long written = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        // A broken connection resumes where it stopped, with a ranged GET of the same version.
                        await using var stream = await StoreCall(locator, item, () => store.OpenReadAsync(locator.Container, item, written, CancellationToken.None)).ConfigureAwait(false);
                        int n;
                        while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                        {
                            await file.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                            written += n;
                        }

                        break;
                    }
                    catch (IOException e) when (e is not ObjectStoreException && e is not SourceChangedException && attempt < 3)
                    {
                        // Retried from the bytes already written.
                    }
                }
            }

            if (written != item.Size)
            {
                throw new SourceChangedException(name, string.Create(CultureInfo.InvariantCulture, $"{written} bytes were downloaded, the listing said {item.Size}"));
            }

            File.Move(temp, path, overwrite: true);
            _cache.Added(path);
            Interlocked.Increment(ref _downloadCount);
            return path;
        }
        finally
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover partial download is harmless: it is never read.
            }
        }
    }

    private IObjectStore StoreOf(ObjectLocator locator)
    {
        try
        {
            return _stores(locator);
        }
        catch (Exception e) when (e is InvalidOperationException or SourceSpecException)
        {
            // Read time: an IOException, so the shard fails and is retried or dead-lettered.
            throw new ObjectStoreException($"{locator.Kind} connection '{locator.Connection}' cannot be opened: {e.Message}", e);
        }
    }

    /// <summary>Store failures named after the object: a gone or re-uploaded object becomes <see cref="SourceChangedException"/>.</summary>
    private static async Task<T> StoreCall<T>(ObjectLocator locator, ObjectInfo item, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ObjectVersionException e)
        {
            throw new SourceChangedException(locator.ObjectName(item), e.Message);
        }
    }

    /// <summary>Errors of the file readers on a local copy, named after the object instead of the copy.</summary>
    private static async Task<T> Translate<T>(ObjectLocator locator, ObjectInfo item, string local, Func<ValueTask<T>> call)
    {
        var name = locator.ObjectName(item);
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (MalformedRecordException e)
        {
            const string marker = " is malformed: ";
            var at = e.Message.IndexOf(marker, StringComparison.Ordinal);
            throw new MalformedRecordException(name, e.RecordIndex, e.ByteOffset, at < 0 ? e.Message.Replace(local, name, StringComparison.Ordinal) : e.Message[(at + marker.Length)..]);
        }
        catch (SourceChangedException e)
        {
            throw new SourceChangedException(name, e.Message.Replace(local, "its local copy", StringComparison.Ordinal));
        }
        catch (ArgumentException e) when (e is not ArgumentOutOfRangeException)
        {
            var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            throw new ArgumentException(message.Replace(local, name, StringComparison.Ordinal), e.ParamName);
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidDataException && e is not ObjectStoreException)
        {
            throw new IOException($"{name}: cannot be read: {e.Message.Replace(local, name, StringComparison.Ordinal)}", e);
        }
    }
}
