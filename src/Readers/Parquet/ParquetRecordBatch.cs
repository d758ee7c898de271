using System.Text.Json;

namespace OrleansShards.Readers.Parquet;

/// <summary>
/// A batch of Parquet rows kept columnar: per row group it spans (a segment), the decoded chunk of every projected
/// column and the first row of the chunk that belongs to the batch. Nothing is copied or converted per cell until
/// <see cref="WriteRecord"/> writes a row.
/// </summary>
internal sealed class ParquetRecordBatch : RecordBatch
{
    private readonly string _path;
    private readonly ParquetColumnPlan[] _columns;
    private readonly Dictionary<string, int> _columnIndex;
    private readonly int _count;
    private readonly string[] _names;

    /// <summary>The batch row where each segment starts, and one past the last row at the end.</summary>
    private readonly int[] _segmentStart;

    /// <summary>The row within its chunks of the first row of each segment.</summary>
    private readonly int[] _segmentOffset;

    /// <summary>The chunks of each segment, one per column.</summary>
    private readonly ParquetChunk[][] _chunks;
    private int _disposed;

    /// <param name="path">The file, for messages.</param>
    /// <param name="columns">The columns, in output order.</param>
    /// <param name="count">The number of rows.</param>
    /// <param name="segmentStart">Segment starts (batch rows), with <paramref name="count"/> at the end.</param>
    /// <param name="segmentOffset">Per segment, the chunk row of its first row.</param>
    /// <param name="chunks">Per segment, the chunk of each column; the batch owns one reference to each.</param>
    public ParquetRecordBatch(string path, ParquetColumnPlan[] columns, int count, int[] segmentStart, int[] segmentOffset, ParquetChunk[][] chunks)
    {
        _path = path;
        _columns = columns;
        _count = count;
        _segmentStart = segmentStart;
        _segmentOffset = segmentOffset;
        _chunks = chunks;
        _names = [.. columns.Select(c => c.Name)];
        _columnIndex = new Dictionary<string, int>(columns.Length, StringComparer.Ordinal);
        for (var i = 0; i < columns.Length; i++)
        {
            _columnIndex.TryAdd(columns[i].Name, i);
        }
    }

    public override int Count => _count;

    /// <summary>The columns of the batch, in output order.</summary>
    public override IReadOnlyList<string>? ColumnNames => _names;

    public override void WriteRecord(Utf8JsonWriter writer, int row)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var segment = Locate(row, out var local);
        writer.WriteStartObject();
        var chunks = _chunks[segment];
        var columns = _columns;
        for (var c = 0; c < chunks.Length; c++)
        {
            chunks[c].Write(writer, columns[c].JsonName, local);
        }

        writer.WriteEndObject();
    }

    public override string? GetText(int row, string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        var segment = Locate(row, out var local);
        if (!_columnIndex.TryGetValue(column, out var c))
        {
            throw new ArgumentException($"{_path}: the batch has no column '{column}'; it has {string.Join(", ", _columns.Select(x => x.Name))}", nameof(column));
        }

        return _chunks[segment][c].GetText(local);
    }

    /// <summary>
    /// The rows as Arrow columns typed from the Parquet schema (<see cref="ParquetArrow"/>), appended from the decoded
    /// chunks.
    /// </summary>
    public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows)
    {
        var builders = new Apache.Arrow.IArrowArrayBuilder[_columns.Length];
        var fields = new Apache.Arrow.Field[_columns.Length];
        for (var c = 0; c < _columns.Length; c++)
        {
            builders[c] = ParquetArrow.CreateBuilder(_columns[c]);
            fields[c] = ParquetArrow.Field(_columns[c]);
        }

        // Column by column over runs of consecutive rows of one segment (the usual case: a page in order), so each
        // chunk appends a run in one loop.
        var runs = new List<(int Segment, int First, int Count)>();
        for (var i = 0; i < rows.Length;)
        {
            var segment = Locate(rows[i], out var local);
            var count = 1;
            while (i + count < rows.Length && rows[i + count] == rows[i] + count && rows[i + count] < _segmentStart[segment + 1])
            {
                count++;
            }

            runs.Add((segment, local, count));
            i += count;
        }

        for (var c = 0; c < builders.Length; c++)
        {
            foreach (var (segment, first, count) in runs)
            {
                _chunks[segment][c].AppendArrow(builders[c], first, count);
            }
        }

        var arrays = new Apache.Arrow.IArrowArray[builders.Length];
        for (var c = 0; c < builders.Length; c++)
        {
            arrays[c] = ParquetArrow.Build(builders[c]);
        }

        return new Apache.Arrow.RecordBatch(new Apache.Arrow.Schema(fields, null), arrays, rows.Length);
    }

    private int Locate(int row, out int local)
    {
        if ((uint)row >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {_count} records");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var segment = 0;
        while (row >= _segmentStart[segment + 1])
        {
            segment++;
        }

        local = row - _segmentStart[segment] + _segmentOffset[segment];
        return segment;
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (var segment in _chunks)
            {
                foreach (var chunk in segment)
                {
                    chunk.Release();
                }
            }
        }

        base.Dispose();
    }
}
