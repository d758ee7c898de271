using System.Text.Json;
using OrleansShards.Readers.Arrow;

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

    /// <summary>
    /// The Arrow batches of each part for its runs of rows, concatenated, when the parts type their columns alike (so a
    /// page spanning objects keeps the types of the source's schema); otherwise every column typed from the JSON values.
    /// </summary>
    public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows)
    {
        if (_parts.Length == 1 && _columns is not null)
        {
            return _parts[0].ToArrow(rows);
        }

        // Runs of rows of one part, in the page's order; a page shuffled across many objects is typed from JSON.
        const int MaxRuns = 256;
        var runs = new List<(int Part, List<int> Rows)>();
        foreach (var row in rows)
        {
            var (part, local) = Locate(row);
            if (runs.Count == 0 || runs[^1].Part != part)
            {
                if (runs.Count == MaxRuns)
                {
                    return base.ToArrow(rows);
                }

                runs.Add((part, []));
            }

            runs[^1].Rows.Add(local);
        }

        if (runs.Count == 0)
        {
            return base.ToArrow(rows);
        }

        var batches = new List<Apache.Arrow.RecordBatch>(runs.Count);
        try
        {
            foreach (var (part, local) in runs)
            {
                batches.Add(_parts[part].ToArrow(local.ToArray()));
            }

            var schema = batches[0].Schema;
            if (batches.Any(b => !SameFields(schema, b.Schema)))
            {
                return base.ToArrow(rows);
            }

            var arrays = new Apache.Arrow.IArrowArray[schema.FieldsList.Count];
            for (var c = 0; c < arrays.Length; c++)
            {
                arrays[c] = Apache.Arrow.ArrowArrayConcatenator.Concatenate([.. batches.Select(b => b.Column(c))]);
            }

            return new Apache.Arrow.RecordBatch(schema, arrays, rows.Length);
        }
        finally
        {
            foreach (var batch in batches)
            {
                batch.Dispose();
            }
        }
    }

    private static bool SameFields(Apache.Arrow.Schema a, Apache.Arrow.Schema b) =>
        a.FieldsList.Count == b.FieldsList.Count
        && a.FieldsList.Zip(b.FieldsList).All(f => f.First.Name == f.Second.Name
            && SameType(f.First.DataType, f.Second.DataType)
            && f.First.Metadata?.GetValueOrDefault(ArrowRecords.JsonTextKey) == f.Second.Metadata?.GetValueOrDefault(ArrowRecords.JsonTextKey));

    private static bool SameType(Apache.Arrow.Types.IArrowType a, Apache.Arrow.Types.IArrowType b) => a.TypeId == b.TypeId && (a, b) switch
    {
        (Apache.Arrow.Types.ListType x, Apache.Arrow.Types.ListType y) => SameType(x.ValueDataType, y.ValueDataType),
        (Apache.Arrow.Types.TimestampType x, Apache.Arrow.Types.TimestampType y) => x.Unit == y.Unit && x.Timezone == y.Timezone,
        (Apache.Arrow.Types.Decimal128Type x, Apache.Arrow.Types.Decimal128Type y) => x.Precision == y.Precision && x.Scale == y.Scale,
        (Apache.Arrow.Types.Time64Type x, Apache.Arrow.Types.Time64Type y) => x.Unit == y.Unit,
        _ => true,
    };

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

    /// <summary>The records as Arrow: <c>key</c> <c>utf8</c>, <c>bytes</c> <c>binary</c> (the object's bytes as they are).</summary>
    public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows)
    {
        var fields = new List<Apache.Arrow.Field>(columns.Length);
        var arrays = new List<Apache.Arrow.IArrowArray>(columns.Length);
        foreach (var column in columns)
        {
            if (column == "key")
            {
                var keys = new Apache.Arrow.StringArray.Builder();
                foreach (var row in rows)
                {
                    keys.Append(records[row].Key);
                }

                fields.Add(new Apache.Arrow.Field("key", Apache.Arrow.Types.StringType.Default, nullable: true));
                arrays.Add(keys.Build());
            }
            else
            {
                var bytes = new Apache.Arrow.BinaryArray.Builder();
                foreach (var row in rows)
                {
                    bytes.Append(records[row].Bytes.AsSpan());
                }

                fields.Add(new Apache.Arrow.Field("bytes", Apache.Arrow.Types.BinaryType.Default, nullable: true));
                arrays.Add(bytes.Build());
            }
        }

        return new Apache.Arrow.RecordBatch(new Apache.Arrow.Schema(fields, null), arrays, rows.Length);
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
