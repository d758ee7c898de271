using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Readers.Csv;

/// <summary>
/// A batch of CSV records kept as the UTF-8 bytes of their values: the bytes of the shard as read from the file (a
/// value that is a slice of them is not copied) followed by the values the parser had to unescape (quoted fields
/// with doubled quotes), and the <c>[start, end)</c> of every projected value. Nothing is encoded while the batch is
/// built: <see cref="WriteRecord"/> writes a record as JSON when it is asked for, escaping only the values that need it.
/// </summary>
internal sealed class CsvRecordBatch : RecordBatch
{
    /// <summary>Bytes that a JSON string cannot hold as they are (or that may be invalid UTF-8).</summary>
    internal static readonly SearchValues<byte> NeedsEscaping = SearchValues.Create(CreateNeedsEscaping());

    /// <summary>Readable bytes after every used part of the arrays copied from, for fixed-size copies.</summary>
    internal const int Slack = 32;

    private const int MaxCachedScratch = 1 << 20;
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    [ThreadStatic]
    private static byte[]? t_scratch;

    private byte[] _data;
    private int[] _cells;
    private readonly int _inputLength;
    private readonly int _count;
    private readonly int _width;
    private readonly string[] _columns;
    private readonly Dictionary<string, int> _columnIndex;
    private readonly string _path;
    private readonly CsvValueType[]? _types;

    /// <summary>
    /// Per column, in a slot of <see cref="_prefixSlot"/> bytes: <c>{"name":"</c> or <c>,"name":"</c>; then
    /// <see cref="Slack"/> bytes more, so that a slot can be copied whole.
    /// </summary>
    private readonly byte[] _prefixes;
    private readonly int _prefixSlot;
    private readonly int[] _prefixLengths;
    private readonly int _prefixBytes;
    private int _disposed;

    /// <param name="path">The file, for messages.</param>
    /// <param name="data">Pooled: the shard's bytes in <c>[0, inputLength)</c>, unescaped values after them, then at least <see cref="Slack"/> bytes.</param>
    /// <param name="inputLength">How many bytes of <paramref name="data"/> are the file's.</param>
    /// <param name="cells">Pooled: <c>[start, end)</c> in <paramref name="data"/> of value <c>c</c> of record <c>r</c> at <c>2 * (r * columns.Length + c)</c>.</param>
    /// <param name="count">The number of records.</param>
    /// <param name="columns">The columns, in output order.</param>
    /// <param name="types">The type of each column, or null when every one is text; the values were checked against them.</param>
    internal CsvRecordBatch(string path, byte[] data, int inputLength, int[] cells, int count, string[] columns, CsvValueType[]? types = null)
    {
        _path = path;
        _types = types;
        _data = data;
        _inputLength = inputLength;
        _cells = cells;
        _count = count;
        _columns = columns;
        _width = columns.Length;
        _columnIndex = new Dictionary<string, int>(columns.Length, StringComparer.Ordinal);
        var names = new byte[_width][];
        _prefixLengths = new int[_width];
        for (var i = 0; i < _width; i++)
        {
            _columnIndex.TryAdd(columns[i], i);
            names[i] = JsonEncodedText.Encode(columns[i], Encoder).EncodedUtf8Bytes.ToArray();
            _prefixLengths[i] = names[i].Length + 5;
            _prefixBytes += names[i].Length + 6; // and the closing quote of the value
        }

        _prefixSlot = Math.Max(32, (_prefixLengths.DefaultIfEmpty().Max() + 15) & ~15);
        _prefixes = new byte[_width * _prefixSlot + Slack];
        for (var i = 0; i < _width; i++)
        {
            var prefix = _prefixes.AsSpan(i * _prefixSlot);
            prefix[0] = i == 0 ? (byte)'{' : (byte)',';
            prefix[1] = (byte)'"';
            names[i].CopyTo(prefix[2..]);
            prefix[names[i].Length + 2] = (byte)'"';
            prefix[names[i].Length + 3] = (byte)':';
            prefix[names[i].Length + 4] = (byte)'"';
        }
    }

    /// <summary>An empty batch with these columns.</summary>
    internal static CsvRecordBatch Empty(string path, string[] columns) => new(path, [], 0, [], 0, columns);

    /// <summary>The columns of the batch, in output order.</summary>
    internal string[] Columns => _columns;

    public override int Count => _count;

    private static byte[] CreateNeedsEscaping()
    {
        var bytes = new List<byte>();
        for (var b = 0; b < 256; b++)
        {
            if (b < 0x20 || b == '"' || b == '\\' || b >= 0x80)
            {
                bytes.Add((byte)b);
            }
        }

        return [.. bytes];
    }

    private void CheckRow(int row)
    {
        if ((uint)row >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {_count} records");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
    }

    public override void WriteRecord(Utf8JsonWriter writer, int row)
    {
        ArgumentNullException.ThrowIfNull(writer);
        CheckRow(row);
        var width = _width;
        if (width == 0)
        {
            writer.WriteRawValue("{}"u8, skipInputValidation: true);
            return;
        }

        var cells = _cells.AsSpan(row * width * 2, width * 2);
        if (_types is not null)
        {
            WriteTyped(writer, cells);
            return;
        }

        int min = int.MaxValue, max = 0, valueBytes = 0;
        for (var i = 0; i < cells.Length; i += 2)
        {
            var s = cells[i];
            var e = cells[i + 1];
            if (e != s)
            {
                valueBytes += e - s;
                min = Math.Min(min, s);
                max = Math.Max(max, e);
            }
        }

        // The values of a record are slices of its bytes in the file unless the parser unescaped them; when the bytes
        // that hold them need no escaping, no value does, and one vectorised check replaces one per value.
        var data = _data;
        var clean = valueBytes == 0 || (max <= _inputLength && data.AsSpan(min, max - min).IndexOfAny(NeedsEscaping) < 0);
        var size = _prefixBytes + 1 + Slack + (clean ? valueBytes : valueBytes * 6);
        var scratch = t_scratch;
        byte[]? rented = null;
        if (scratch is null || scratch.Length < size)
        {
            if (size <= MaxCachedScratch)
            {
                scratch = t_scratch = new byte[Math.Max(size, 4096)];
            }
            else
            {
                scratch = rented = ArrayPool<byte>.Shared.Rent(size);
            }
        }

        try
        {
            var length = clean ? WriteClean(cells, scratch) : WriteEscaped(cells, scratch);
            writer.WriteRawValue(scratch.AsSpan(0, length), skipInputValidation: true);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Writes a record with typed columns through the writer: numbers and booleans as such, an empty typed value as null.</summary>
    private void WriteTyped(Utf8JsonWriter writer, ReadOnlySpan<int> cells)
    {
        writer.WriteStartObject();
        for (var i = 0; i < _width; i++)
        {
            var value = _data.AsSpan(cells[2 * i], cells[2 * i + 1] - cells[2 * i]);
            writer.WritePropertyName(_columns[i]);
            switch (_types![i])
            {
                case CsvValueType.String:
                    writer.WriteStringValue(value);
                    break;
                case CsvValueType.Int64 when CsvValues.TryInt64(value, out var whole):
                    writer.WriteNumberValue(whole);
                    break;
                case CsvValueType.Float64 when CsvValues.TryFloat64(value, out var real):
                    writer.WriteNumberValue(real);
                    break;
                case CsvValueType.Bool when CsvValues.TryBool(value, out var flag):
                    writer.WriteBooleanValue(flag);
                    break;
                default:
                    // Checked when the batch was read: only an empty value gets here.
                    writer.WriteNullValue();
                    break;
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes a record whose values need no escaping into <paramref name="scratch"/>, which has room for it and <see cref="Slack"/> bytes more.</summary>
    private int WriteClean(ReadOnlySpan<int> cells, byte[] scratch)
    {
        ref var dst = ref MemoryMarshal.GetArrayDataReference(scratch);
        ref var src = ref MemoryMarshal.GetArrayDataReference(_data);
        ref var prefixes = ref MemoryMarshal.GetArrayDataReference(_prefixes);
        var prefixLengths = _prefixLengths;
        var slot = _prefixSlot;
        var pos = 0;
        for (var i = 0; i < prefixLengths.Length; i++)
        {
            var prefixLength = prefixLengths[i];
            ref var prefix = ref Unsafe.Add(ref prefixes, i * slot);
            if (slot == 32)
            {
                // Column names of up to 27 bytes: two fixed-size copies, no length to branch on.
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, pos), Unsafe.ReadUnaligned<Vector128<byte>>(ref prefix));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, pos + 16), Unsafe.ReadUnaligned<Vector128<byte>>(ref Unsafe.Add(ref prefix, 16)));
            }
            else
            {
                Copy(ref Unsafe.Add(ref dst, pos), ref prefix, prefixLength);
            }

            pos += prefixLength;
            var s = cells[2 * i];
            var n = cells[2 * i + 1] - s;
            Copy(ref Unsafe.Add(ref dst, pos), ref Unsafe.Add(ref src, s), n);
            pos += n;
            Unsafe.Add(ref dst, pos++) = (byte)'"';
        }

        Unsafe.Add(ref dst, pos++) = (byte)'}';
        return pos;
    }

    /// <summary>Writes a record, escaping the values that need it (invalid UTF-8 becomes U+FFFD).</summary>
    private int WriteEscaped(ReadOnlySpan<int> cells, byte[] scratch)
    {
        var pos = 0;
        for (var i = 0; i < _prefixLengths.Length; i++)
        {
            _prefixes.AsSpan(i * _prefixSlot, _prefixLengths[i]).CopyTo(scratch.AsSpan(pos));
            pos += _prefixLengths[i];
            var value = _data.AsSpan(cells[2 * i], cells[2 * i + 1] - cells[2 * i]);
            if (value.IndexOfAny(NeedsEscaping) < 0)
            {
                value.CopyTo(scratch.AsSpan(pos));
                pos += value.Length;
            }
            else
            {
                // At most 6 bytes for each byte of input (\u001F; a 4-byte sequence becomes 12): the scratch has room.
                var status = Encoder.EncodeUtf8(value, scratch.AsSpan(pos), out _, out var written);
                if (status != OperationStatus.Done)
                {
                    throw new InvalidOperationException($"{_path}: cannot encode a value as JSON ({status})");
                }

                pos += written;
            }

            scratch[pos++] = (byte)'"';
        }

        scratch[pos++] = (byte)'}';
        return pos;
    }

    /// <summary>Copies <paramref name="length"/> bytes; may read and write up to 16 bytes past them (see <see cref="Slack"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(ref byte destination, ref byte source, int length)
    {
        if (length <= 16)
        {
            Unsafe.WriteUnaligned(ref destination, Unsafe.ReadUnaligned<Vector128<byte>>(ref source));
        }
        else if (length <= 32)
        {
            Unsafe.WriteUnaligned(ref destination, Unsafe.ReadUnaligned<Vector128<byte>>(ref source));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, length - 16), Unsafe.ReadUnaligned<Vector128<byte>>(ref Unsafe.Add(ref source, length - 16)));
        }
        else
        {
            Unsafe.CopyBlockUnaligned(ref destination, ref source, (uint)length);
        }
    }

    public override IReadOnlyList<string>? ColumnNames => _columns;

    /// <summary>Every column is <c>utf8</c> (as every CSV value is a JSON string), appended from the bytes as read.</summary>
    public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        foreach (var row in rows)
        {
            CheckRow(row);
        }

        // Values are slices between ASCII delimiters (or unescaped copies after the input): when all the bytes used
        // are valid UTF-8, so is every value, and one vectorised check replaces one per value.
        var used = 0;
        foreach (var end in _cells.AsSpan(0, _count * _width * 2))
        {
            used = Math.Max(used, end);
        }

        var valid = System.Text.Unicode.Utf8.IsValid(_data.AsSpan(0, used));
        var fields = new Apache.Arrow.Field[_width];
        var arrays = new Apache.Arrow.IArrowArray[_width];
        for (var c = 0; c < _width; c++)
        {
            if (_types is not null && _types[c] != CsvValueType.String)
            {
                (fields[c], arrays[c]) = TypedColumn(c, rows);
                continue;
            }

            var builder = new Apache.Arrow.StringArray.Builder();
            foreach (var row in rows)
            {
                var cell = (row * _width + c) * 2;
                var value = _data.AsSpan(_cells[cell], _cells[cell + 1] - _cells[cell]);
                if (valid)
                {
                    builder.Append(value);
                }
                else
                {
                    ArrowRecords.AppendUtf8(builder, value);
                }
            }

            fields[c] = new Apache.Arrow.Field(_columns[c], Apache.Arrow.Types.StringType.Default, nullable: true);
            arrays[c] = builder.Build();
        }

        return new Apache.Arrow.RecordBatch(new Apache.Arrow.Schema(fields, null), arrays, rows.Length);
    }

    private (Apache.Arrow.Field, Apache.Arrow.IArrowArray) TypedColumn(int c, ReadOnlySpan<int> rows)
    {
        var name = _columns[c];
        switch (_types![c])
        {
            case CsvValueType.Int64:
            {
                var builder = new Apache.Arrow.Int64Array.Builder();
                foreach (var row in rows)
                {
                    if (CsvValues.TryInt64(Cell(row, c), out var whole)) { builder.Append(whole); } else { builder.AppendNull(); }
                }

                return (new Apache.Arrow.Field(name, Apache.Arrow.Types.Int64Type.Default, nullable: true), builder.Build());
            }

            case CsvValueType.Float64:
            {
                var builder = new Apache.Arrow.DoubleArray.Builder();
                foreach (var row in rows)
                {
                    if (CsvValues.TryFloat64(Cell(row, c), out var real)) { builder.Append(real); } else { builder.AppendNull(); }
                }

                return (new Apache.Arrow.Field(name, Apache.Arrow.Types.DoubleType.Default, nullable: true), builder.Build());
            }

            default:
            {
                var builder = new Apache.Arrow.BooleanArray.Builder();
                foreach (var row in rows)
                {
                    if (CsvValues.TryBool(Cell(row, c), out var flag)) { builder.Append(flag); } else { builder.AppendNull(); }
                }

                return (new Apache.Arrow.Field(name, Apache.Arrow.Types.BooleanType.Default, nullable: true), builder.Build());
            }
        }
    }

    private ReadOnlySpan<byte> Cell(int row, int column)
    {
        var cell = (row * _width + column) * 2;
        return _data.AsSpan(_cells[cell], _cells[cell + 1] - _cells[cell]);
    }

    public override string? GetText(int row, string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        CheckRow(row);
        if (!_columnIndex.TryGetValue(column, out var c))
        {
            throw new ArgumentException($"{_path}: the batch has no column '{column}'; it has {string.Join(", ", _columns)}", nameof(column));
        }

        var cell = (row * _width + c) * 2;
        return Encoding.UTF8.GetString(_data, _cells[cell], _cells[cell + 1] - _cells[cell]);
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_data.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_data);
            }

            if (_cells.Length > 0)
            {
                ArrayPool<int>.Shared.Return(_cells);
            }

            _data = [];
            _cells = [];
        }

        base.Dispose();
    }
}
