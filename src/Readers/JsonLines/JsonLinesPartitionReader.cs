using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using OrleansShards.Readers.Indexing;

namespace OrleansShards.Readers.JsonLines;

/// <summary>
/// Reads JSON Lines files (UTF-8): one JSON object per line. Lines that are empty or hold only whitespace are skipped
/// and are not records; a UTF-8 byte order mark at the start of the file is ignored.
/// </summary>
/// <remarks>
/// <para>
/// Without a projection a record is written back as the raw JSON of its line (validated, not re-encoded). With a
/// projection only the named properties are written, in the order asked for, a missing one as <c>null</c>; when a
/// property occurs twice in an object, the first occurrence counts. The columns of <see cref="IndexedPartitionReader.DescribeAsync"/> are
/// the property names of the first record.
/// </para>
/// <para>
/// The first <see cref="IndexedPartitionReader.DescribeAsync"/> (or read) of a file scans it once and keeps a sparse index beside it as
/// <c>&lt;file&gt;.osidx</c>, as <see cref="Csv.CsvPartitionReader"/> does. The scan only cuts lines; reading a range
/// validates every record in it and throws <see cref="MalformedRecordException"/> for a line that is not valid
/// JSON, not valid UTF-8, or not an object.
/// </para>
/// <para>Thread-safe; keep one instance so that its cache of indexes is shared.</para>
/// </remarks>
public sealed class JsonLinesPartitionReader : IndexedPartitionReader
{
    private const int ChunkSize = 1 << 18;
    private readonly int _stride;

    /// <summary>Creates a reader.</summary>
    /// <param name="indexStride">The sparse index keeps the byte offset of every <paramref name="indexStride"/>-th record.</param>
    public JsonLinesPartitionReader(int indexStride = 1024)
        : base($"jsonl;stride={indexStride}")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(indexStride, 1);
        _stride = indexStride;
    }

    /// <inheritdoc />
    public override async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        var (path, index, count) = await ReaderCore.PrepareAsync(Indexes, request, cancellationToken).ConfigureAwait(false);
        string[]? columns = null;
        byte[][]? names = null;
        if (request.Columns is not null)
        {
            ReaderCore.Project(path, index.Columns, request.Columns, unknownIsError: false);
            columns = [.. request.Columns];
            names = [.. columns.Select(c => System.Text.Encoding.UTF8.GetBytes(c))];
        }

        var kind = columns is null ? JsonRowBatch.CellKind.None : JsonRowBatch.CellKind.RawValues;
        if (count == 0)
        {
            using var empty = new JsonRowBatchBuilder(0, 0, columns, withCells: columns is not null);
            return empty.Build(path, columns, kind);
        }

        var batch = ReadRange(path, index, request.Start, count, columns, names, cancellationToken);
        ReaderCore.CheckUnchanged(path, request.Expected, batch);
        return batch;
    }

    /// <summary>Whether a line holds only JSON whitespace.</summary>
    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;

    private protected override RecordIndex Scan(string path, string key, CancellationToken cancellationToken)
    {
        var stat = FileStat.Of(path);
        using var file = ReaderCore.OpenRead(path);
        using var hashing = new HashingStream(file);
        using var lines = new LineReader(hashing, 0);
        var offsets = new List<long>();
        long count = 0;
        string[] columns = [];
        while (lines.TryRead(out var line, out var offset))
        {
            if (IsBlank(line))
            {
                continue;
            }

            if (count % _stride == 0)
            {
                offsets.Add(offset);
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (count == 0)
            {
                columns = PropertyNames(line);
            }

            count++;
        }

        hashing.Drain();
        return new RecordIndex(key, hashing.BytesRead, stat.LastWriteTimeUtcTicks, hashing.Hash, count, _stride, columns, [.. offsets]);
    }

    /// <summary>The property names of a record, or none when it is not a valid object.</summary>
    private static string[] PropertyNames(ReadOnlySpan<byte> line)
    {
        var names = new List<string>();
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return [];
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!names.Contains(name))
                {
                    names.Add(name);
                }

                reader.Read();
                reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return [];
        }

        return [.. names];
    }

    private static JsonRowBatch ReadRange(string path, RecordIndex index, long start, int count, string[]? columns, byte[][]? names, CancellationToken cancellationToken)
    {
        var entry = (int)(start / index.Stride);
        var record = (long)entry * index.Stride;
        var avgBytes = index.Length / Math.Max(1, index.RecordCount);
        var expectedBytes = (int)Math.Min(int.MaxValue / 2, (avgBytes + 8) * count);
        using var builder = new JsonRowBatchBuilder(count, expectedBytes, columns, withCells: columns is not null);
        using var file = ReaderCore.OpenRead(path);
        file.Seek(index.Offsets[entry], SeekOrigin.Begin);
        using var lines = new LineReader(file, index.Offsets[entry]);
        var end = start + count;
        Span<int> found = columns is null ? default : new int[columns.Length * 2];
        while (record < end)
        {
            if (!lines.TryRead(out var line, out var offset))
            {
                throw new SourceChangedException(path, $"the file ends before record {record}, which its index counts");
            }

            if (IsBlank(line))
            {
                continue;
            }

            if (record >= start)
            {
                line = line.TrimEnd(" \t\r"u8);
                if (columns is null)
                {
                    Validate(path, record, offset, line, null, default);
                    builder.AddRawRecord(line.TrimStart(" \t"u8));
                }
                else
                {
                    found.Fill(-1);
                    Validate(path, record, offset, line, names, found);
                    builder.BeginRecord();
                    for (var i = 0; i < columns.Length; i++)
                    {
                        var s = found[2 * i];
                        builder.AddRawValue(i, s < 0 ? default : line[s..found[2 * i + 1]]);
                    }

                    builder.EndRecord();
                }

                if ((record & 0x3FFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            record++;
        }

        return builder.Build(path, columns, columns is null ? JsonRowBatch.CellKind.None : JsonRowBatch.CellKind.RawValues);
    }

    /// <summary>
    /// Reads the whole line with <see cref="Utf8JsonReader"/>: it must be one valid JSON object in valid UTF-8. With
    /// <paramref name="names"/>, notes where the value of each named top-level property starts and ends.
    /// </summary>
    internal static void Validate(string path, long record, long offset, ReadOnlySpan<byte> line, byte[][]? names, Span<int> found)
    {
        if (!Utf8.IsValid(line))
        {
            throw new MalformedRecordException(path, record, offset, "the line is not valid UTF-8");
        }

        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new MalformedRecordException(path, record, offset, $"the line is not a JSON object (it starts with {(line.IsEmpty ? "nothing" : reader.TokenType.ToString())})");
            }

            if (names is null)
            {
                reader.Skip();
            }
            else
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var match = -1;
                    for (var i = 0; i < names.Length; i++)
                    {
                        if (found[2 * i] < 0 && (reader.ValueIsEscaped ? reader.ValueTextEquals(names[i]) : reader.ValueSpan.SequenceEqual(names[i])))
                        {
                            match = i;
                            break;
                        }
                    }

                    reader.Read();
                    var valueStart = (int)reader.TokenStartIndex;
                    reader.Skip();
                    if (match >= 0)
                    {
                        found[2 * match] = valueStart;
                        found[2 * match + 1] = (int)reader.BytesConsumed;
                    }
                }
            }

            // Anything after the object (another value) is an error of the reader.
            if (reader.Read())
            {
                throw new MalformedRecordException(path, record, offset, "the line holds more than one JSON value");
            }
        }
        catch (JsonException e)
        {
            throw new MalformedRecordException(path, record, offset, $"invalid JSON: {e.Message}");
        }
    }

    /// <summary>Cuts a stream into lines (without the line feed), in pooled chunks.</summary>
    private sealed class LineReader : IDisposable
    {
        private readonly Stream _stream;
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        private int _start;
        private int _end;
        private long _bufferOffset;
        private bool _eof;
        private bool _atFileStart;

        public LineReader(Stream stream, long offset)
        {
            _stream = stream;
            _bufferOffset = offset;
            _atFileStart = offset == 0;
        }

        public bool TryRead(out ReadOnlySpan<byte> line, out long offset)
        {
            while (true)
            {
                var pending = _buffer.AsSpan(_start, _end - _start);
                var newline = pending.IndexOf((byte)'\n');
                if (newline >= 0 || (_eof && !pending.IsEmpty))
                {
                    var length = newline >= 0 ? newline : pending.Length;
                    line = pending[..length];
                    offset = _bufferOffset + _start;
                    _start += newline >= 0 ? length + 1 : length;
                    return true;
                }

                if (_eof)
                {
                    line = default;
                    offset = _bufferOffset + _start;
                    return false;
                }

                Fill();
            }
        }

        private void Fill()
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _bufferOffset += _start;
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                _buffer.AsSpan(0, _end).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _eof = true;
                return;
            }

            _end += read;
            if (_atFileStart && _end >= 3)
            {
                _atFileStart = false;
                if (_buffer.AsSpan(0, 3).SequenceEqual("\uFEFF"u8))
                {
                    _start = 3;
                }
            }
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
