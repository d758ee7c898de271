using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OrleansShards.Readers;

/// <summary>
/// A batch stored as the JSON objects of its records, back to back in one pooled buffer, with the
/// location of every value: writing a record is one copy, and no object is allocated per cell.
/// </summary>
internal sealed class JsonRowBatch : RecordBatch
{
    /// <summary>How the cells of a batch are stored.</summary>
    internal enum CellKind
    {
        /// <summary>Cells are raw JSON values (a missing value is the literal null).</summary>
        RawValues,

        /// <summary>No cells: each record is a whole JSON object, searched when a value is asked for.</summary>
        None,
    }

    private byte[] _json;
    private int[] _rows;
    private int[]? _cells;
    private readonly int _count;
    private readonly int _width;
    private readonly CellKind _kind;
    private readonly Dictionary<string, int>? _columnIndex;
    private readonly string _path;
    private int _disposed;

    internal JsonRowBatch(string path, byte[] json, int[] rows, int[]? cells, int count, string[]? columns, CellKind kind)
    {
        _path = path;
        _json = json;
        _rows = rows;
        _cells = cells;
        _count = count;
        _kind = kind;
        _width = columns?.Length ?? 0;
        Columns = columns;
        if (columns is not null)
        {
            _columnIndex = new Dictionary<string, int>(columns.Length, StringComparer.Ordinal);
            for (var i = 0; i < columns.Length; i++)
            {
                _columnIndex.TryAdd(columns[i], i);
            }
        }
    }

    /// <summary>The columns of the batch, in output order; null when each record keeps its own properties.</summary>
    internal string[]? Columns { get; }

    public override int Count => _count;

    public override IReadOnlyList<string>? ColumnNames => Columns;

    public override void WriteRecord(Utf8JsonWriter writer, int row)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteRawValue(GetRecordJson(row), skipInputValidation: true);
    }

    /// <summary>The record as one JSON object in UTF-8.</summary>
    internal ReadOnlySpan<byte> GetRecordJson(int row)
    {
        if ((uint)row >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {_count} records");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var start = _rows[row];
        return _json.AsSpan(start, _rows[row + 1] - start);
    }

    public override string? GetText(int row, string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        var record = GetRecordJson(row);
        if (_kind == CellKind.None)
        {
            return FindProperty(record, column);
        }

        if (!_columnIndex!.TryGetValue(column, out var c))
        {
            throw new ArgumentException($"{_path}: the batch has no column '{column}'; it has {string.Join(", ", Columns!)}", nameof(column));
        }

        var cell = (row * _width + c) * 2;
        var value = _json.AsSpan(_cells![cell], _cells[cell + 1] - _cells[cell]);
        return RawValueText(value);
    }

    /// <summary>The JSON value of column <paramref name="column"/> of record <paramref name="row"/> (a batch with cells).</summary>
    internal ReadOnlySpan<byte> GetCellJson(int row, int column)
    {
        GetRecordJson(row); // checks the row and that the batch is not disposed
        if (_cells is null || (uint)column >= (uint)_width)
        {
            throw new ArgumentOutOfRangeException(nameof(column), column, $"{_path}: the batch has no cell column {column}");
        }

        var cell = (row * _width + column) * 2;
        return _json.AsSpan(_cells[cell], _cells[cell + 1] - _cells[cell]);
    }

    /// <summary>A JSON value as text: a string unescaped, null as null, anything else as its JSON.</summary>
    private static string? RawValueText(ReadOnlySpan<byte> value)
    {
        var reader = new Utf8JsonReader(value);
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Null => null,
            _ => Encoding.UTF8.GetString(value),
        };
    }

    private static string? FindProperty(ReadOnlySpan<byte> record, string name)
    {
        var reader = new Utf8JsonReader(record);
        reader.Read(); // StartObject
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match)
            {
                var start = (int)reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }

                return RawValueText(record[start..(int)reader.BytesConsumed]);
            }

            reader.Skip();
        }

        return null;
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            ArrayPool<byte>.Shared.Return(_json);
            ArrayPool<int>.Shared.Return(_rows);
            if (_cells is not null)
            {
                ArrayPool<int>.Shared.Return(_cells);
            }

            _json = [];
            _rows = [];
            _cells = null;
        }

        base.Dispose();
    }
}

/// <summary>Collects the JSON of the records of a batch in pooled buffers.</summary>
internal sealed class JsonRowBatchBuilder : IDisposable
{
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    private byte[] _json;
    private int _pos;
    private int[] _rows;
    private int[]? _cells;
    private int _cellPos;
    private int _count;
    private readonly int _width;

    /// <summary>Prefixes of the values: {"a": then ,"b":.</summary>
    private readonly byte[][] _prefixes;

    public JsonRowBatchBuilder(int expectedRecords, int expectedBytes, string[]? columns, bool withCells)
    {
        _json = ArrayPool<byte>.Shared.Rent(Math.Max(expectedBytes, 256));
        _rows = ArrayPool<int>.Shared.Rent(expectedRecords + 1);
        _rows[0] = 0;
        _width = columns?.Length ?? 0;
        _cells = withCells ? ArrayPool<int>.Shared.Rent(Math.Max(1, expectedRecords * _width * 2)) : null;
        _prefixes = new byte[_width][];
        for (var i = 0; i < _width; i++)
        {
            var name = JsonEncodedText.Encode(columns![i], Encoder).EncodedUtf8Bytes;
            var prefix = new List<byte>(name.Length + 5) { i == 0 ? (byte)'{' : (byte)',', (byte)'"' };
            prefix.AddRange(name);
            prefix.Add((byte)'"');
            prefix.Add((byte)':');
            _prefixes[i] = [.. prefix];
        }
    }

    public int Count => _count;

    private void Ensure(int more)
    {
        if (_pos + more > _json.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_json.Length * 2, _pos + more));
            _json.AsSpan(0, _pos).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_json);
            _json = bigger;
        }
    }

    private void EnsureRows()
    {
        if (_count + 2 > _rows.Length)
        {
            var bigger = ArrayPool<int>.Shared.Rent(_rows.Length * 2);
            _rows.AsSpan(0, _count + 1).CopyTo(bigger);
            ArrayPool<int>.Shared.Return(_rows);
            _rows = bigger;
        }

        if (_cells is not null && _cellPos + _width * 2 > _cells.Length)
        {
            var bigger = ArrayPool<int>.Shared.Rent(Math.Max(_cells.Length * 2, _cellPos + _width * 2));
            _cells.AsSpan(0, _cellPos).CopyTo(bigger);
            ArrayPool<int>.Shared.Return(_cells);
            _cells = bigger;
        }
    }

    /// <summary>Appends a whole record that is already a valid JSON object.</summary>
    public void AddRawRecord(ReadOnlySpan<byte> json)
    {
        EnsureRows();
        Ensure(json.Length);
        json.CopyTo(_json.AsSpan(_pos));
        _pos += json.Length;
        _rows[++_count] = _pos;
    }

    /// <summary>Starts a record that is written value by value.</summary>
    public void BeginRecord() => EnsureRows();

    /// <summary>Appends the next value of the record as raw JSON (already validated), or null when it is empty.</summary>
    public void AddRawValue(int column, ReadOnlySpan<byte> json)
    {
        var prefix = _prefixes[column];
        if (json.IsEmpty)
        {
            json = "null"u8;
        }

        Ensure(prefix.Length + json.Length + 1);
        prefix.CopyTo(_json.AsSpan(_pos));
        _pos += prefix.Length;
        _cells![_cellPos++] = _pos;
        json.CopyTo(_json.AsSpan(_pos));
        _pos += json.Length;
        _cells[_cellPos++] = _pos;
    }

    /// <summary>Ends a record written value by value.</summary>
    public void EndRecord()
    {
        Ensure(2);
        if (_width == 0)
        {
            _json[_pos++] = (byte)'{';
        }

        _json[_pos++] = (byte)'}';
        _rows[++_count] = _pos;
    }

    /// <summary>Hands the buffers over to a batch.</summary>
    public JsonRowBatch Build(string path, string[]? columns, JsonRowBatch.CellKind kind)
    {
        var batch = new JsonRowBatch(path, _json, _rows, _cells, _count, columns, kind);
        _json = [];
        _rows = [];
        _cells = null;
        return batch;
    }

    public void Dispose()
    {
        if (_json.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_json);
        }

        if (_rows.Length > 0)
        {
            ArrayPool<int>.Shared.Return(_rows);
        }

        if (_cells is not null)
        {
            ArrayPool<int>.Shared.Return(_cells);
        }

        _json = [];
        _rows = [];
        _cells = null;
    }
}
