using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;
using OrleansShards.Readers.Indexing;

namespace OrleansShards.Readers.TfRecord;

/// <summary>
/// Reads TFRecord files: records framed as <c>uint64 length</c>, <c>uint32 masked_crc32c(length)</c>, <c>data</c>,
/// <c>uint32 masked_crc32c(data)</c>, little-endian, back to back (uncompressed; compressed TFRecord files are not read).
/// </summary>
/// <remarks>
/// <para>
/// The first <see cref="IndexedPartitionReader.DescribeAsync"/> (or read) of a file walks its record headers once, checking every length CRC,
/// and keeps a sparse index beside it as <c>&lt;file&gt;.osidx</c> (the byte offset of every
/// <c>indexStride</c>-th record, the fingerprint and the columns), as the CSV and JSON Lines readers do. A shard then
/// seeks straight to the index entry at or before its first record and hops over at most <c>indexStride - 1</c>
/// headers. Reading checks both CRCs of every record it returns, with the processor's CRC32C instruction
/// (<see cref="System.Numerics.BitOperations.Crc32C(uint, ulong)"/>).
/// </para>
/// <para>
/// A record whose data does not match its CRC fails only the reads that include it, with a
/// <see cref="MalformedRecordException"/> naming the file, the record and its byte offset; so does the last record of a
/// truncated file. A record whose length does not match its CRC leaves the rest of the file without boundaries: describing
/// the file then fails with that exception, saying so, rather than serving a guess.
/// </para>
/// <para>
/// A record that is a <c>tf.train.Example</c> (checked strictly, see <see cref="TfExample"/>) gives one column per
/// feature, in the record's order: a list of one value is a scalar, any other count an array; int64 values are JSON
/// numbers, floats JSON numbers (NaN and infinities as the strings <c>"NaN"</c>, <c>"Infinity"</c>,
/// <c>"-Infinity"</c>), bytes a string when they are valid UTF-8 and base64 otherwise; a feature without a list is
/// null. Any other record, an empty one included, is one column <c>bytes</c> holding its data in base64. The columns of
/// <see cref="IndexedPartitionReader.DescribeAsync"/> are those of the first record. A projection writes the named columns in its order, a
/// missing one as null.
/// </para>
/// <para>Thread-safe; keep one instance so that its cache of indexes is shared.</para>
/// </remarks>
public sealed class TfRecordPartitionReader : IndexedPartitionReader
{
    private const int HeaderSize = 12;
    private const int FramingSize = 16;
    private const int ScanBlockSize = 1 << 20;
    private const int MinChunkSize = 1 << 12;
    private const int MaxChunkSize = 1 << 23;

    /// <summary>The first record is decoded for the columns only up to this size.</summary>
    private const long MaxColumnProbe = 64L << 20;

    private readonly int _stride;

    /// <summary>Creates a reader.</summary>
    /// <param name="indexStride">The sparse index keeps the byte offset of every <paramref name="indexStride"/>-th record.</param>
    public TfRecordPartitionReader(int indexStride = 1024)
        : base($"tfrecord;stride={indexStride}")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(indexStride, 1);
        _stride = indexStride;
    }

    /// <inheritdoc />

    /// <inheritdoc />
    public override async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        var (path, index, count) = await ReaderCore.PrepareAsync(Indexes, request, cancellationToken).ConfigureAwait(false);
        string[]? columns = null;
        if (request.Columns is not null)
        {
            ReaderCore.Project(path, index.Columns, request.Columns, unknownIsError: false);
            columns = [.. request.Columns];
        }

        var batch = ReadRange(path, index, request.Start, count, columns, cancellationToken);
        ReaderCore.CheckUnchanged(path, request.Expected, batch);
        return batch;
    }

    private static SafeFileHandle Open(string path) => File.OpenHandle(
        path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);

    private static MalformedRecordException LengthCrcFailed(string path, long record, long offset, uint stored, ulong length, string consequence)
        => new(path, record, offset,
            $"the length CRC check failed (stored masked CRC32C 0x{stored:x8}, computed 0x{TfRecordCrc.MaskedLength(length):x8} over the length field, which reads {length}); {consequence}");

    private static MalformedRecordException Truncated(string path, long record, long offset, ulong? length, long fileLength)
        => new(path, record, offset, length is { } l
            ? $"the file is truncated: the record needs {FramingSize}+{l} bytes from byte offset {offset}, and the file ends at byte {fileLength}"
            : $"the file is truncated: it ends at byte {fileLength}, inside the record's {HeaderSize}-byte header");

    private protected override RecordIndex Scan(string path, string key, CancellationToken cancellationToken)
    {
        var stat = FileStat.Of(path);
        using var handle = Open(path);
        var hash = new XxHash3();
        var buffer = ArrayPool<byte>.Shared.Rent(ScanBlockSize);
        var header = new byte[HeaderSize];
        var offsets = new List<long>();
        long count = 0, next = 0, blockStart = 0;
        ulong firstLength = 0;
        var have = 0;
        try
        {
            while (true)
            {
                var n = RandomAccess.Read(handle, buffer, blockStart);
                if (n == 0)
                {
                    break;
                }

                var block = buffer.AsSpan(0, n);
                hash.Append(block);
                var blockEnd = blockStart + n;
                while (next + have < blockEnd)
                {
                    var at = (int)(next + have - blockStart);
                    var take = Math.Min(HeaderSize - have, n - at);
                    block.Slice(at, take).CopyTo(header.AsSpan(have));
                    have += take;
                    if (have < HeaderSize)
                    {
                        break;
                    }

                    var length = BinaryPrimitives.ReadUInt64LittleEndian(header);
                    var stored = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
                    if (TfRecordCrc.MaskedLength(length) != stored)
                    {
                        throw LengthCrcFailed(path, count, next, stored, length,
                            $"the records from here on cannot be found, so the file cannot be described past record {count} (the {count} records before it are intact)");
                    }

                    if (count % _stride == 0)
                    {
                        offsets.Add(next);
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    if (count == 0)
                    {
                        firstLength = length;
                    }

                    count++;
                    next = length > (ulong)(long.MaxValue - FramingSize - next) ? long.MaxValue : next + FramingSize + (long)length;
                    have = 0;
                }

                blockStart = blockEnd;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (have > 0)
        {
            // The file ends inside a header: that record is counted, and reading it fails as truncated.
            if (count % _stride == 0)
            {
                offsets.Add(next);
            }

            count++;
        }

        var columns = count > 0 && firstLength <= (ulong)MaxColumnProbe && FramingSize + (long)firstLength <= blockStart
            ? ColumnsOfFirst(handle, (int)firstLength)
            : [];
        return new RecordIndex(key, blockStart, stat.LastWriteTimeUtcTicks, hash.GetCurrentHashAsUInt64(), count, _stride, columns, [.. offsets]);
    }

    /// <summary>The columns of the first record: its feature names, or <c>bytes</c>; none when its data fails its CRC.</summary>
    private static string[] ColumnsOfFirst(SafeFileHandle handle, int length)
    {
        var data = ArrayPool<byte>.Shared.Rent(length + 4);
        try
        {
            if (RandomAccess.Read(handle, data.AsSpan(0, length + 4), HeaderSize) != length + 4
                || TfRecordCrc.Masked(data.AsSpan(0, length)) != BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(length)))
            {
                return [];
            }

            var example = TfExample.Shared;
            if (!example.TryParse(data, 0, length))
            {
                return [TfRecordBatch.BytesColumn];
            }

            var names = new string[example.FeatureCount];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = System.Text.Encoding.UTF8.GetString(example.Key(i));
            }

            return names;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    private static TfRecordBatch ReadRange(string path, RecordIndex index, long start, int count, string[]? columns, CancellationToken cancellationToken)
    {
        var chunkOf = ArrayPool<int>.Shared.Rent(Math.Max(1, count));
        var starts = ArrayPool<int>.Shared.Rent(Math.Max(1, count));
        var lengths = ArrayPool<int>.Shared.Rent(Math.Max(1, count));
        var chunks = new List<byte[]>();
        var batch = new TfRecordBatch(path, chunks, chunkOf, starts, lengths, count, columns);
        if (count == 0)
        {
            return batch;
        }

        try
        {
            using var handle = Open(path);
            var fileLength = index.Length;
            var entry = (int)(start / index.Stride);
            var position = SkipTo(path, handle, index, (long)entry * index.Stride, index.Offsets[entry], start);

            // Read no further than the index entry at or after the end of the range: at most one stride too far.
            var end = start + count;
            var boundEntry = (end + index.Stride - 1) / index.Stride;
            var bound = boundEntry < index.Offsets.Length ? index.Offsets[boundEntry] : fileLength;
            var chunk = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(bound - position, MinChunkSize, MaxChunkSize));
            chunks.Add(chunk);
            var chunkFileStart = position;
            int filled = 0, p = 0;

            // Makes chunk[p .. p + need) hold the file's bytes, moving to a new chunk when they do not fit.
            void Ensure(int need, long record, ulong? length)
            {
                if (p + need > chunk.Length)
                {
                    var size = (int)Math.Min(Array.MaxLength, Math.Max(need, Math.Clamp(bound - (chunkFileStart + p), MinChunkSize, MaxChunkSize)));
                    var fresh = ArrayPool<byte>.Shared.Rent(size);
                    chunk.AsSpan(p, filled - p).CopyTo(fresh);
                    if (p == 0)
                    {
                        // The old chunk holds no record: give it back.
                        ArrayPool<byte>.Shared.Return(chunk);
                        chunks.RemoveAt(chunks.Count - 1);
                    }

                    chunks.Add(fresh);
                    chunk = fresh;
                    chunkFileStart += p;
                    filled -= p;
                    p = 0;
                }

                while (filled < p + need)
                {
                    var want = (int)Math.Max(p + need - filled, Math.Min(chunk.Length - filled, bound - (chunkFileStart + filled)));
                    var got = RandomAccess.Read(handle, chunk.AsSpan(filled, want), chunkFileStart + filled);
                    if (got == 0)
                    {
                        throw Truncated(path, record, chunkFileStart + p, length, fileLength);
                    }

                    filled += got;
                }
            }

            for (var r = 0; r < count; r++)
            {
                var record = start + r;
                var offset = chunkFileStart + p;
                if (fileLength - offset < HeaderSize)
                {
                    throw Truncated(path, record, offset, null, fileLength);
                }

                Ensure(HeaderSize, record, null);
                var length = BinaryPrimitives.ReadUInt64LittleEndian(chunk.AsSpan(p));
                var storedLengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(chunk.AsSpan(p + 8));
                if (TfRecordCrc.MaskedLength(length) != storedLengthCrc)
                {
                    throw LengthCrcFailed(path, record, offset, storedLengthCrc, length, "the record and those after it cannot be read");
                }

                if (length > (ulong)(fileLength - offset - FramingSize))
                {
                    throw Truncated(path, record, offset, length, fileLength);
                }

                if (length > (ulong)(Array.MaxLength - FramingSize))
                {
                    throw new MalformedRecordException(path, record, offset, $"the record holds {length} bytes, more than a batch can hold");
                }

                var dataLength = (int)length;
                Ensure(FramingSize + dataLength, record, length);
                var data = chunk.AsSpan(p + HeaderSize, dataLength);
                var storedDataCrc = BinaryPrimitives.ReadUInt32LittleEndian(chunk.AsSpan(p + HeaderSize + dataLength));
                var dataCrc = TfRecordCrc.Masked(data);
                if (dataCrc != storedDataCrc)
                {
                    throw new MalformedRecordException(path, record, offset,
                        $"the data CRC check failed (stored masked CRC32C 0x{storedDataCrc:x8}, computed 0x{dataCrc:x8} over the {dataLength} data bytes)");
                }

                chunkOf[r] = chunks.Count - 1;
                starts[r] = p + HeaderSize;
                lengths[r] = dataLength;
                p += FramingSize + dataLength;
                if ((r & 0xFFF) == 0xFFF)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Walks the headers from <paramref name="record"/> at <paramref name="position"/> to <paramref name="start"/>,
    /// checking each length CRC, and returns the byte offset of record <paramref name="start"/>.
    /// </summary>
    private static long SkipTo(string path, SafeFileHandle handle, RecordIndex index, long record, long position, long start)
    {
        if (record == start)
        {
            return position;
        }

        // Small records: read blocks that hold many headers. Large ones: read each header alone.
        var average = index.Length / Math.Max(1, index.RecordCount);
        var blockSize = average >= 4096 ? HeaderSize : 1 << 16;
        var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
        try
        {
            long blockStart = 0;
            var blockLength = 0;
            for (; record < start; record++)
            {
                if (position < blockStart || position + HeaderSize > blockStart + blockLength)
                {
                    blockStart = position;
                    blockLength = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(blockSize, Math.Max(HeaderSize, index.Length - position))), position);
                    if (blockLength < HeaderSize)
                    {
                        throw Truncated(path, record, position, null, index.Length);
                    }
                }

                var header = buffer.AsSpan((int)(position - blockStart), HeaderSize);
                var length = BinaryPrimitives.ReadUInt64LittleEndian(header);
                var stored = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
                if (TfRecordCrc.MaskedLength(length) != stored)
                {
                    throw LengthCrcFailed(path, record, position, stored, length, "the records after it cannot be found");
                }

                if (length > (ulong)(index.Length - position - FramingSize))
                {
                    throw Truncated(path, record, position, length, index.Length);
                }

                position += FramingSize + (long)length;
            }

            return position;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
