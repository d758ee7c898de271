using System.IO.Hashing;
using OrleansShards.Readers.Indexing;
using Parquet;
using Parquet.Meta;
using Parquet.Schema;

namespace OrleansShards.Readers.Parquet;

/// <summary>
/// Reads Parquet files (Parquet.Net): a file is a partition and a record's offset is its row index. A read opens
/// only the row groups that overlap the range and decodes only the projected columns of them.
/// </summary>
/// <remarks>
/// <para>
/// Columns are the schema's top-level fields. A field of primitive values is a column, and so is a list of primitive
/// values (a LIST group or a legacy repeated field), written as a JSON array; a struct, a map, a list of anything but
/// primitives or a type without a JSON form makes <see cref="DescribeAsync"/> refuse the file, naming the column.
/// Values are written as JSON of their type: integers, floats and decimals as numbers (NaN and infinities as the
/// strings "NaN", "Infinity", "-Infinity"), booleans, strings, byte arrays as base64, timestamps and dates as ISO 8601
/// strings, null as null.
/// </para>
/// <para>
/// <see cref="DescribeAsync"/> reads the footer (row count, schema) and hashes the whole file once (XxHash3), kept in
/// memory per length and modification time; reads check the file's length and modification time against the pinned
/// fingerprint before and after. A column chunk is decoded whole (Parquet.Net has no page-level access) and kept in a
/// cache of decoded chunks within a memory budget, so that the shards of one row group decode it once.
/// </para>
/// <para>Thread-safe; keep one instance so that its caches are shared.</para>
/// </remarks>
public sealed class ParquetPartitionReader : IPartitionReader
{
    /// <summary>The default memory budget of the cache of decoded column chunks: 512 MiB.</summary>
    public const long DefaultCacheBytes = 512L << 20;

    private readonly FileVersionCache<ParquetFileInfo> _files;
    private readonly ParquetChunkCache _chunks;
    private long _describes;

    /// <summary>Creates a reader.</summary>
    /// <param name="cacheBytes">The memory budget of decoded column chunks kept for later reads (0 keeps none beyond the batches that hold them).</param>
    public ParquetPartitionReader(long cacheBytes = DefaultCacheBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cacheBytes);
        _chunks = new ParquetChunkCache(cacheBytes);
        // A new version of a file makes the decoded chunks of its older versions useless.
        _files = new FileVersionCache<ParquetFileInfo>(ScanAsync, (file, info) => _chunks.ForgetOtherVersions(file, info.Length, info.LastWriteTimeUtcTicks));
    }

    /// <summary>How many column chunks this reader decoded (for metrics and tests).</summary>
    public long ChunkDecodeCount => _chunks.Decodes;

    /// <summary>How many times this reader read a file's footer and hashed the file (for metrics and tests).</summary>
    public long FileScanCount => Interlocked.Read(ref _describes);

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The file is not a readable Parquet file (for example truncated).</exception>
    /// <exception cref="NotSupportedException">A column is of a kind the reader cannot write as JSON; the message names it.</exception>
    public async ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var info = await GetInfoAsync(full, FileStat.Of(full), cancellationToken).ConfigureAwait(false);
        return new PartitionDescription(full, info.RowCount, info.Fingerprint, info.ColumnNames);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The projection names a column the file does not have.</exception>
    public async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Path, nameof(request));
        ArgumentNullException.ThrowIfNull(request.Expected, nameof(request));
        var path = Path.GetFullPath(request.Path);
        var expected = request.Expected;
        var stat = FileStat.TryOf(path) ?? throw new SourceChangedException(path, "the file no longer exists");
        ReaderCore.CheckStat(path, expected, stat);
        ParquetFileInfo info;
        try
        {
            info = await GetInfoAsync(path, stat, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            ReaderCore.CheckStat(path, expected, FileStat.TryOf(path) ?? throw new SourceChangedException(path, "the file was deleted while it was read"));
            throw new MalformedRecordException(path, request.Start, 0, e.Message);
        }

        ReaderCore.CheckStat(path, expected, new FileStat(info.Length, info.LastWriteTimeUtcTicks));
        ReaderCore.CheckContentHash(path, expected, info.ContentHash);
        ReaderCore.CheckRange(request, info.RowCount, path, $"file's {info.RowCount} records");
        var count = ReaderCore.CountToRead(request, path);

        var projection = ReaderCore.Project(path, info.ColumnNames, request.Columns, unknownIsError: true)
            ?? [.. Enumerable.Range(0, info.Columns.Length)];
        var columns = projection.Select(i => info.Columns[i]).ToArray();
        var batch = await ReadRangeAsync(path, expected, info, request.Start, count, projection, columns, cancellationToken).ConfigureAwait(false);
        ReaderCore.CheckUnchanged(path, expected, batch);
        return batch;
    }

    private async ValueTask<ParquetRecordBatch> ReadRangeAsync(
        string path, FileFingerprint expected, ParquetFileInfo info, long start, int count, int[] projection, ParquetColumnPlan[] columns, CancellationToken cancellationToken)
    {
        var end = start + count;
        var groups = new List<int>();
        if (count > 0)
        {
            // RowGroupStarts[g] is the first row of group g; the last entry is the row count.
            var g = Array.BinarySearch(info.RowGroupStarts, start);
            g = g >= 0 ? g : ~g - 1;
            for (; g < info.RowGroupStarts.Length - 1 && info.RowGroupStarts[g] < end; g++)
            {
                if (info.RowGroupStarts[g + 1] > info.RowGroupStarts[g])
                {
                    groups.Add(g);
                }
            }
        }

        var segmentStart = new int[groups.Count + 1];
        var segmentOffset = new int[groups.Count];
        var chunks = new ParquetChunk[groups.Count][];
        var acquired = new List<ParquetChunk>(groups.Count * columns.Length);
        await using var session = new Session(path, expected, info);
        try
        {
            for (var s = 0; s < groups.Count; s++)
            {
                var g = groups[s];
                var groupStart = info.RowGroupStarts[g];
                var first = Math.Max(start, groupStart);
                segmentStart[s] = (int)(first - start);
                segmentOffset[s] = (int)(first - groupStart);
                chunks[s] = new ParquetChunk[columns.Length];
                for (var c = 0; c < columns.Length; c++)
                {
                    var column = projection[c];
                    var key = new ParquetChunkCache.Key(path, info.Length, info.LastWriteTimeUtcTicks, g, column);
                    var chunk = await _chunks.GetAsync(key, () => session.DecodeAsync(g, column), cancellationToken).ConfigureAwait(false);
                    acquired.Add(chunk);
                    chunks[s][c] = chunk;
                }
            }
        }
        catch
        {
            foreach (var chunk in acquired)
            {
                chunk.Release();
            }

            throw;
        }

        segmentStart[groups.Count] = count;
        return new ParquetRecordBatch(path, columns, count, segmentStart, segmentOffset, chunks);
    }

    /// <summary>The file open for the decodes of one read, opened at the first decode that needs it.</summary>
    private sealed class Session(string path, FileFingerprint expected, ParquetFileInfo info) : IAsyncDisposable
    {
        private FileStream? _stream;
        private ParquetReader? _reader;

        public async Task<ParquetChunk> DecodeAsync(int rowGroup, int column)
        {
            var plan = info.Columns[column];
            var rowStart = info.RowGroupStarts[rowGroup];
            long offset = 0;
            try
            {
                if (_reader is null)
                {
                    _stream = ReaderCore.OpenRead(path);
                    _reader = await ParquetReader.CreateAsync(_stream, null, leaveStreamOpen: true, CancellationToken.None).ConfigureAwait(false);
                    if (_reader.RowGroupCount != info.RowGroupStarts.Length - 1)
                    {
                        throw new InvalidDataException($"the footer now lists {_reader.RowGroupCount} row groups, not {info.RowGroupStarts.Length - 1}");
                    }
                }

                var group = _reader.OpenRowGroupReader(rowGroup);
                var field = _reader.Schema.DataFields[plan.DataFieldIndex];
                var meta = group.GetMetadata(field)?.MetaData;
                offset = meta?.DictionaryPageOffset ?? meta?.DataPageOffset ?? 0;
                var rows = info.RowGroupStarts[rowGroup + 1] - rowStart;
                if (group.RowCount != rows)
                {
                    throw new InvalidDataException($"row group {rowGroup} now has {group.RowCount} rows, not {rows}");
                }

                var raw = await group.ReadRawColumnDataBaseAsync(field, CancellationToken.None).ConfigureAwait(false);
                return ParquetChunk.Create(raw, plan, (int)rows, meta?.TotalUncompressedSize ?? 0);
            }
            catch (OutOfMemoryException e)
            {
                // A page header that declares more bytes than an array can hold (or than this process can get): the
                // file is refused by name, the process goes on.
                var declared = _stream is null ? null : DeclaredPageSize(_stream, offset);
                throw new MalformedRecordException(path, rowStart, offset,
                    $"row group {rowGroup}, column '{plan.Name}': a page declares {(declared is { } size ? $"{size} bytes" : "a size")}, more than one read can hold ({e.Message})");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A file that changed under the read is reported as changed, not as malformed.
                ReaderCore.CheckStat(path, expected, FileStat.TryOf(path) ?? throw new SourceChangedException(path, "the file was deleted while it was read"));
                throw new MalformedRecordException(path, rowStart, offset,
                    $"row group {rowGroup}, column '{plan.Name}' cannot be decoded ({e.GetType().Name}: {e.Message})");
            }
        }

        /// <summary>
        /// The larger of the sizes (uncompressed, compressed) the page header at <paramref name="offset"/> declares
        /// (Thrift compact: fields 1 to 3, i32 each, as every writer orders them); null when the header is not laid out
        /// that way. Parquet.Net keeps its Thrift reader internal, hence these few lines.
        /// </summary>
        private static long? DeclaredPageSize(FileStream stream, long offset)
        {
            Span<byte> header = stackalloc byte[32];
            var read = RandomAccess.Read(stream.SafeFileHandle, header, offset);
            var position = 0;
            long value = 0;
            for (var field = 1; field <= 3; field++)
            {
                if (position >= read || header[position++] != 0x15)
                {
                    return null;
                }

                ulong varint = 0;
                for (var shift = 0; ; shift += 7)
                {
                    if (position >= read || shift > 63)
                    {
                        return null;
                    }

                    var b = header[position++];
                    varint |= (ulong)(b & 0x7F) << shift;
                    if ((b & 0x80) == 0)
                    {
                        break;
                    }
                }

                value = field == 1 ? 0 : Math.Max(value, (long)(varint >> 1) ^ -(long)(varint & 1));
            }

            return value;
        }

        public async ValueTask DisposeAsync()
        {
            if (_reader is not null)
            {
                await _reader.DisposeAsync().ConfigureAwait(false);
            }

            if (_stream is not null)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private ValueTask<ParquetFileInfo> GetInfoAsync(string path, FileStat stat, CancellationToken cancellationToken) =>
        _files.GetAsync(path, stat, cancellationToken);

    /// <summary>Reads the footer and hashes the file; again when the file changed meanwhile.</summary>
    private async Task<ParquetFileInfo> ScanAsync(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            var stat = FileStat.Of(path);
            Interlocked.Increment(ref _describes);
            ParquetFileInfo info;
            await using (var stream = ReaderCore.OpenRead(path))
            {
                long[] starts;
                ParquetColumnPlan[] columns;
                try
                {
                    await using var reader = await ParquetReader.CreateAsync(stream, null, leaveStreamOpen: true, CancellationToken.None).ConfigureAwait(false);
                    columns = Plan(path, reader.Schema);
                    starts = new long[reader.RowGroupCount + 1];
                    for (var g = 0; g < reader.RowGroupCount; g++)
                    {
                        var rows = reader.OpenRowGroupReader(g).RowCount;
                        if (rows < 0)
                        {
                            throw new InvalidDataException($"row group {g} has {rows} rows");
                        }

                        starts[g + 1] = checked(starts[g] + rows);
                    }
                }
                catch (Exception e) when (e is not (NotSupportedException or OutOfMemoryException or UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException))
                {
                    if (FileStat.TryOf(path) is { } now && now == stat)
                    {
                        throw new InvalidDataException($"{path}: not a readable Parquet file ({e.GetType().Name}: {e.Message})", e);
                    }

                    if (attempt >= 3)
                    {
                        throw new IOException($"{path}: the file kept changing while it was described", e);
                    }

                    continue;
                }

                stream.Position = 0;
                var hash = new XxHash3();
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
                long length = 0;
                try
                {
                    int n;
                    while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                    {
                        hash.Append(buffer.AsSpan(0, n));
                        length += n;
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }

                info = new ParquetFileInfo(length, stat.LastWriteTimeUtcTicks, hash.GetCurrentHashAsUInt64(), starts, columns);
            }

            if (FileStat.TryOf(path) is { } after && after == stat && info.Length == stat.Length)
            {
                return info;
            }

            if (attempt >= 3)
            {
                throw new IOException($"{path}: the file kept changing while it was described");
            }
        }
    }

    /// <summary>The columns of a schema, or a refusal naming the first column the reader cannot serve.</summary>
    private static ParquetColumnPlan[] Plan(string path, ParquetSchema schema)
    {
        var dataFields = schema.DataFields;
        var plans = new List<ParquetColumnPlan>(schema.Fields.Count);
        foreach (var field in schema.Fields)
        {
            DataField leaf;
            bool isList;
            switch (field)
            {
                case DataField data when data.MaxRepetitionLevel == 0:
                    leaf = data;
                    isList = false;
                    break;
                case DataField data when data.MaxRepetitionLevel == 1:
                    leaf = data; // a legacy repeated field
                    isList = true;
                    break;
                case ListField { Item: DataField item } when item.MaxRepetitionLevel == 1:
                    leaf = item;
                    isList = true;
                    break;
                case ListField list:
                    throw Unsupported(path, field.Name, $"a list of {Describe(list.Item)}");
                default:
                    throw Unsupported(path, field.Name, Describe(field));
            }

            if (!ParquetChunk.SupportedTypes.Contains(leaf.ClrType))
            {
                throw Unsupported(path, field.Name, $"of type {leaf.ClrType.Name}");
            }

            var index = dataFields.ToList().IndexOf(leaf);
            if (index < 0)
            {
                throw new InvalidDataException($"{path}: column '{field.Name}' has no data field in the schema");
            }

            // A list entry exists from the repeated node's level; an optional element adds one level for a null.
            var elementNullable = leaf.SchemaElement is { } element ? element.RepetitionType == FieldRepetitionType.OPTIONAL : leaf.IsNullable;
            var entryLevel = leaf.MaxDefinitionLevel - (isList && elementNullable ? 1 : 0);
            var (arrowType, arrowMetadata) = ParquetArrow.ValueType(leaf);
            plans.Add(new ParquetColumnPlan(field.Name, index, isList, leaf.MaxDefinitionLevel, entryLevel)
            {
                ArrowValueType = arrowType,
                ArrowMetadata = arrowMetadata,
            });
        }

        return [.. plans];
    }

    private static string Describe(Field field) => field switch
    {
        StructField => "a struct",
        MapField => "a map",
        ListField => "a list",
        DataField data when data.MaxRepetitionLevel > 1 => "a nested repeated field",
        DataField data => $"a field of {data.ClrType.Name}",
        _ => $"a {field.SchemaType}",
    };

    private static NotSupportedException Unsupported(string path, string column, string what)
        => new($"{path}: column '{column}' is {what}; the Parquet reader reads columns of primitive values and lists of primitive values");

}

/// <summary>What the footer and one pass over the bytes tell of a Parquet file.</summary>
internal sealed class ParquetFileInfo(long length, long lastWriteTimeUtcTicks, ulong contentHash, long[] rowGroupStarts, ParquetColumnPlan[] columns) : IFileVersioned
{
    public long Length { get; } = length;
    public long LastWriteTimeUtcTicks { get; } = lastWriteTimeUtcTicks;
    public ulong ContentHash { get; } = contentHash;

    /// <summary>The first row of each row group, then the row count (prefix sums of the row groups' row counts).</summary>
    public long[] RowGroupStarts { get; } = rowGroupStarts;

    public ParquetColumnPlan[] Columns { get; } = columns;

    public string[] ColumnNames { get; } = [.. columns.Select(c => c.Name)];

    public long RowCount => RowGroupStarts[^1];

    public FileFingerprint Fingerprint => new(Length, LastWriteTimeUtcTicks, ContentHash);

    public bool Matches(FileStat stat) => stat.Length == Length && stat.LastWriteTimeUtcTicks == LastWriteTimeUtcTicks;
}
