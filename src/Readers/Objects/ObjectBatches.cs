using System.Text.Json;

namespace OrleansShards.Readers.Objects;

/// <summary>The records of a partition read that spans objects: the batches of each object, back to back.</summary>
internal sealed class ConcatRecordBatch : RecordBatch
{
    private readonly RecordBatch[] _parts;
    private readonly int[] _first;
    private readonly IReadOnlyList<string>? _columns;

    public ConcatRecordBatch(IReadOnlyList<RecordBatch> parts, IReadOnlyList<string>? emptyColumns)
    {
        _parts = [.. parts];
        _first = new int[_parts.Length + 1];
        for (var i = 0; i < _parts.Length; i++)
        {
            _first[i + 1] = checked(_first[i] + _parts[i].Count);
        }

        if (_parts.Length == 0)
        {
            _columns = emptyColumns;
        }
        else
        {
            var first = _parts[0].ColumnNames;
            _columns = first is not null && _parts.All(p => p.ColumnNames is { } c && c.SequenceEqual(first, StringComparer.Ordinal)) ? first : null;
        }
    }

    public override int Count => _first[^1];

    public override IReadOnlyList<string>? ColumnNames => _columns;

    public override void WriteRecord(Utf8JsonWriter writer, int row)
    {
        var (part, local) = Locate(row);
        _parts[part].WriteRecord(writer, local);
    }

    public override string? GetText(int row, string column)
    {
        var (part, local) = Locate(row);
        return _parts[part].GetText(local, column);
    }

    public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows) =>
        _parts.Length == 1 && _columns is not null ? _parts[0].ToArrow(rows) : base.ToArrow(rows);

    private (int Part, int Row) Locate(int row)
    {
        if ((uint)row >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {Count} records");
        }

        var found = Array.BinarySearch(_first, row);
        var part = found >= 0 ? found : ~found - 1;
        // Empty parts share a first row with the next one: take the last of them.
        while (part + 1 < _parts.Length && _first[part + 1] == row)
        {
            part++;
        }

        return (part, row - _first[part]);
    }

    public override void Dispose()
    {
        foreach (var part in _parts)
        {
            part.Dispose();
        }

        base.Dispose();
    }
}

/// <summary>The <c>raw</c> transformer's records: one per object, its key and its bytes (base64 in JSON).</summary>
internal sealed class RawObjectBatch(IReadOnlyList<(string Key, byte[]? Bytes)> records, string[] columns) : RecordBatch
{
    /// <summary>The columns of a raw record.</summary>
    public static readonly string[] AllColumns = ["key", "bytes"];

    public override int Count => records.Count;

    public override IReadOnlyList<string>? ColumnNames => columns;

    public override void WriteRecord(Utf8JsonWriter writer, int row)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var (key, bytes) = records[row];
        writer.WriteStartObject();
        foreach (var column in columns)
        {
            if (column == "key")
            {
                writer.WriteString("key", key);
            }
            else
            {
                writer.WriteBase64String("bytes", bytes);
            }
        }

        writer.WriteEndObject();
    }

    public override string? GetText(int row, string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        var (key, bytes) = records[row];
        return Array.IndexOf(columns, column) < 0
            ? throw new ArgumentException($"the batch has no column '{column}'; it has {string.Join(", ", columns)}", nameof(column))
            : column == "key" ? key : Convert.ToBase64String(bytes!);
    }
}
