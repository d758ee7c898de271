using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OrleansShards.Readers.Indexing;
using CH = CsvHelper;

namespace OrleansShards.Readers.Csv;

/// <summary>
/// Reads CSV files (RFC 4180, UTF-8) with CsvHelper's UTF-8 parser: quoted fields may contain delimiters, quotes
/// and line breaks, so record boundaries come from the parser. Empty lines between records are skipped and are not
/// records. Every value is a JSON string in the output (an empty field is <c>""</c>).
/// </summary>
/// <remarks>
/// <para>
/// The first <see cref="IndexedPartitionReader.DescribeAsync"/> (or read) of a file scans it once: it counts the records, hashes the bytes
/// (XxHash3) and keeps the byte offset of every <see cref="CsvReaderOptions.IndexStride"/>-th record in a sparse
/// index, written beside the data as <c>&lt;file&gt;.osidx</c> (in memory only when the directory is not writable)
/// and reused while the file's length and modification time are unchanged. The scan is lenient: a malformed record
/// is still one record. Reading a range that holds one throws <see cref="MalformedRecordException"/>: a record whose
/// field count differs from the header (or, without a header, from the first record), or a quoted field that is never
/// closed (see <see cref="CsvReaderOptions.StrictQuotes"/> for the others).
/// </para>
/// <para>
/// A read loads the bytes of the range (from the indexed record at or before its start to the indexed record after
/// its end) into one pooled buffer and parses them in place. The batch keeps the UTF-8 values where they are (or, for
/// quoted values the parser unescaped, after them) with the bounds of each projected value; the JSON of a record is
/// encoded when <see cref="RecordBatch.WriteRecord"/> asks for it. A range spans at most 1 GiB of the file.
/// </para>
/// <para>Thread-safe; keep one instance per configuration so that its cache of indexes is shared.</para>
/// </remarks>
public sealed class CsvPartitionReader : IndexedPartitionReader
{
    private readonly CsvReaderOptions _options;
    private readonly CH.CsvReaderOptions _rangeOptions;

    /// <summary>Creates a reader.</summary>
    /// <param name="options">How files are read; <see langword="null"/> for the defaults.</param>
    public CsvPartitionReader(CsvReaderOptions? options = null)
        : base(FormatKey(options ?? new CsvReaderOptions()))
    {
        _options = options ?? new CsvReaderOptions();
        if (_options.Delimiter is '"' or '\r' or '\n' || _options.Delimiter > 127)
        {
            throw new ArgumentException($"the delimiter must be an ASCII character other than a quote or a line break, not '{_options.Delimiter}'", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(_options.IndexStride, 1, nameof(options));
        _rangeOptions = ParserOptions(header: false, onMalformed: null);
    }

    /// <summary>The options of this reader.</summary>
    public CsvReaderOptions Options => _options;


    /// <inheritdoc />
    public override async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        var (path, index, count) = await ReaderCore.PrepareAsync(Indexes, request, cancellationToken).ConfigureAwait(false);
        var projection = ReaderCore.Project(path, index.Columns, request.Columns, unknownIsError: true);
        var columns = projection is null ? index.Columns : [.. request.Columns!];
        var fields = projection ?? Enumerable.Range(0, index.Columns.Length).ToArray();
        if (count == 0)
        {
            return CsvRecordBatch.Empty(path, columns);
        }

        var batch = ReadRange(path, index, request.Start, count, columns, fields, cancellationToken);
        ReaderCore.CheckUnchanged(path, request.Expected, batch);
        return batch;
    }

    private CH.CsvReaderOptions ParserOptions(bool header, Action<CH.CsvMalformedRecord>? onMalformed) => CH.CsvReaderOptions.Default with
    {
        Separator = _options.Delimiter,
        HasHeader = header,
        DetectSeparatorHint = false,
        SkipEmptyLines = true,
        AllowLineBreaksInQuotes = true,
        MalformedData = CH.CsvMalformedDataHandling.Recover,
        FieldCountMismatch = CH.CsvFieldCountHandling.Allow,
        OnMalformedRecord = onMalformed,
        BufferSize = 1 << 18,
    };

    private static void Ignore(CH.CsvMalformedRecord record)
    {
    }

    private static string FormatKey(CsvReaderOptions options) =>
        $"csv;header={(options.Header ? 1 : 0)};delimiter={(int)options.Delimiter};stride={options.IndexStride}";

    private protected override RecordIndex Scan(string path, string key, CancellationToken cancellationToken)
    {
        var stride = _options.IndexStride;
        var stat = FileStat.Of(path);
        using var file = ReaderCore.OpenRead(path);
        using var hashing = new HashingStream(file);
        var offsets = new List<long>();
        long count = 0;
        string[] columns;

        // The same parser options as reads use (malformed-quote detection on), so that records are cut the same way.
        using (var csv = CH.CsvReader.Create(hashing, ParserOptions(_options.Header, Ignore), leaveOpen: true))
        {
            columns = _options.Header ? [.. csv.Headers] : [];
            while (csv.Read())
            {
                if (count % stride == 0)
                {
                    offsets.Add(csv.ByteOffset);
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (count == 0 && !_options.Header)
                {
                    columns = new string[csv.FieldCount];
                    for (var i = 0; i < columns.Length; i++)
                    {
                        columns[i] = "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    }
                }

                count++;
            }
        }

        hashing.Drain();
        return new RecordIndex(key, hashing.BytesRead, stat.LastWriteTimeUtcTicks, hashing.Hash, count, stride, columns, [.. offsets]);
    }

    private CsvRecordBatch ReadRange(string path, RecordIndex index, long start, int count, string[] columns, int[] fields, CancellationToken cancellationToken)
    {
        var stride = index.Stride;
        var entry = (int)(start / stride);
        var baseOffset = index.Offsets[entry];
        var record = (long)entry * stride;
        var width = index.Columns.Length;
        var end = start + count;

        // The bytes from the indexed record at or before the start to the indexed record after the end (or the end of
        // the file) hold the range. The index's offsets are record boundaries of a parse of the whole file, so the
        // parser cuts these bytes into the same records, and nothing after the range is read or scanned.
        var endEntry = (end + stride - 1) / stride;
        var endOffset = endEntry < index.Offsets.Length ? index.Offsets[endEntry] : index.Length;
        var rangeBytes = endOffset - baseOffset;
        var cellCount = (long)count * fields.Length * 2;
        var types = TypesOf(path, index.Columns, columns);
        if (rangeBytes < 0 || rangeBytes > _options.MaxReadBytes || cellCount > Array.MaxLength)
        {
            // A record this long, or a range this large, is refused before anything is allocated for it.
            throw new MalformedRecordException(path, start, baseOffset,
                $"the records [{start}, {end}) with their neighbours up to the next indexed records span {rangeBytes} bytes, more than one read may hold ({_options.MaxReadBytes} bytes); read smaller shards or pages (a record this long cannot be served)");
        }

        // Malformed quoting is reported by the parser while it advances to the record, before Read returns it.
        long malformedRow = -1;
        var malformedReason = CH.CsvMalformedReason.UnterminatedQuote;
        var strict = _options.StrictQuotes;
        void OnMalformed(CH.CsvMalformedRecord m)
        {
            if (malformedRow < 0 && (strict || m.Reason is CH.CsvMalformedReason.UnterminatedQuote or CH.CsvMalformedReason.LineBreakInQuotes))
            {
                malformedRow = m.RecordNumber;
                malformedReason = m.Reason;
            }
        }

        // Room for the values the parser unescapes (rarely many) after the file's bytes, and slack for fixed-size copies.
        var inputLength = (int)rangeBytes;
        var data = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, rangeBytes + rangeBytes / 16 + 4 * CsvRecordBatch.Slack));
        var cells = ArrayPool<int>.Shared.Rent((int)Math.Max(1, cellCount));
        byte[]? retired = null;
        try
        {
            using (var file = ReaderCore.OpenRead(path))
            {
                file.Seek(baseOffset, SeekOrigin.Begin);
                inputLength = file.ReadAtLeast(data.AsSpan(0, inputLength), inputLength, throwOnEndOfStream: false);
            }

            var input = data;
            var used = inputLength;
            ref var origin = ref MemoryMarshal.GetArrayDataReference(input);

            // A quoted field that is never closed runs to the end of the input, so only the last record of the file can
            // have one: malformed-quote detection (which slows the parser down) is on only for ranges that reach it.
            var detect = strict || end == index.RecordCount;
            using var csv = CH.CsvReader.Create(new ReadOnlyMemory<byte>(input, 0, inputLength), detect ? ParserOptions(header: false, OnMalformed) : _rangeOptions);
            var k = 0;
            while (record < end)
            {
                if (!csv.Read())
                {
                    throw new SourceChangedException(path, $"the file ends before record {record}, which its index counts");
                }

                if (record >= start)
                {
                    if (malformedRow == csv.RowNumber)
                    {
                        throw new MalformedRecordException(path, record, baseOffset + csv.ByteOffset, Describe(malformedReason));
                    }

                    if (csv.FieldCount != width)
                    {
                        throw new MalformedRecordException(path, record, baseOffset + csv.ByteOffset,
                            $"it has {csv.FieldCount} fields, the {(_options.Header ? "header" : "first record")} has {width}");
                    }

                    // Only the projected fields are looked at. A value that is a slice of the input (unquoted, or quoted
                    // without doubled quotes) is kept where it is; one that the parser unescaped is appended after it.
                    for (var i = 0; i < fields.Length; i++)
                    {
                        var value = csv.GetSpan(fields[i]);
                        var at = Unsafe.ByteOffset(ref origin, ref MemoryMarshal.GetReference(value));
                        if (at >= 0 && at + value.Length <= inputLength)
                        {
                            cells[k] = (int)at;
                            cells[k + 1] = (int)at + value.Length;
                        }
                        else
                        {
                            if (used + value.Length + CsvRecordBatch.Slack > data.Length)
                            {
                                // The parser still reads the old array: it is returned when the parser is done.
                                var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)data.Length * 2, (long)used + value.Length + CsvRecordBatch.Slack)));
                                data.AsSpan(0, used).CopyTo(bigger);
                                if (data != input)
                                {
                                    ArrayPool<byte>.Shared.Return(data);
                                }

                                retired = input;
                                data = bigger;
                            }

                            value.CopyTo(data.AsSpan(used));
                            cells[k] = used;
                            used += value.Length;
                            cells[k + 1] = used;
                        }

                        k += 2;
                    }

                    if (types is not null)
                    {
                        CheckTypes(path, record, baseOffset + csv.ByteOffset, columns, types, data, cells.AsSpan(k - 2 * fields.Length, 2 * fields.Length));
                    }

                    if ((record & 0x3FFF) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }
                }

                record++;
            }

            var batch = new CsvRecordBatch(path, data, inputLength, cells, count, columns, types);
            data = null!;
            cells = null!;
            return batch;
        }
        finally
        {
            if (retired is not null)
            {
                ArrayPool<byte>.Shared.Return(retired);
            }

            if (data is not null)
            {
                ArrayPool<byte>.Shared.Return(data);
            }

            if (cells is not null)
            {
                ArrayPool<int>.Shared.Return(cells);
            }
        }
    }

    /// <summary>The declared type of each output column, or null when no column is typed; a declared column the file lacks is an error.</summary>
    private CsvValueType[]? TypesOf(string path, string[] fileColumns, string[] columns)
    {
        if (_options.ColumnTypes is not { Count: > 0 } declared)
        {
            return null;
        }

        foreach (var name in declared.Keys)
        {
            if (Array.IndexOf(fileColumns, name) < 0)
            {
                throw new SourceSpecException($"source.columns.{name}", $"{path} has no column '{name}'; its columns are {string.Join(", ", fileColumns)}");
            }
        }

        var types = columns.Select(c => declared.TryGetValue(c, out var type) ? type : CsvValueType.String).ToArray();
        return types.All(t => t == CsvValueType.String) ? null : types;
    }

    private static void CheckTypes(string path, long record, long byteOffset, string[] columns, CsvValueType[] types, byte[] data, ReadOnlySpan<int> cells)
    {
        for (var i = 0; i < types.Length; i++)
        {
            var value = data.AsSpan(cells[2 * i], cells[2 * i + 1] - cells[2 * i]);
            if (types[i] != CsvValueType.String && !CsvValues.IsValid(types[i], value))
            {
                throw new MalformedRecordException(path, record, byteOffset, $"column '{columns[i]}': '{CsvValues.Show(value)}' is not a {CsvValues.Name(types[i])}");
            }
        }
    }

    private static string Describe(CH.CsvMalformedReason reason) => reason switch
    {
        CH.CsvMalformedReason.UnterminatedQuote => "a quoted field is never closed",
        CH.CsvMalformedReason.StrayQuote => "a quote inside an unquoted field",
        CH.CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a field",
        CH.CsvMalformedReason.LineBreakInQuotes => "a line break inside a quoted field",
        _ => reason.ToString(),
    };
}
