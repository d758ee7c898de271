using System.Text.Json;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>One page of the records of a task: the records it holds, in page order, and where the next page starts.</summary>
public sealed class RecordPage : IDisposable
{
    private readonly RecordBatch _batch;
    private readonly int[]? _rows;

    /// <param name="batch">The records read (owned by the page).</param>
    /// <param name="rows">Row <c>i</c> of the page is record <c>rows[i]</c> of <paramref name="batch"/>; null: row <c>i</c> is record <c>i</c>.</param>
    /// <param name="count">Records in the page.</param>
    /// <param name="nextOffset">The offset of the next page within the shard, when records remain.</param>
    internal RecordPage(RecordBatch batch, int[]? rows, int count, long? nextOffset)
    {
        _batch = batch;
        _rows = rows;
        Count = count;
        NextOffset = nextOffset;
    }

    /// <summary>Records in the page.</summary>
    public int Count { get; }

    /// <summary>The offset of the next page within the shard, when records remain.</summary>
    public long? NextOffset { get; }

    /// <summary>Writes the records as a JSON array.</summary>
    public void WriteRecords(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        for (var i = 0; i < Count; i++)
        {
            _batch.WriteRecord(writer, RowOf(i));
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// The page's records in page order as one Arrow record batch that the caller owns, typed by
    /// <see cref="RecordBatch.ToArrow"/>.
    /// </summary>
    public Apache.Arrow.RecordBatch ToArrow()
    {
        if (_rows is not null)
        {
            return _batch.ToArrow(_rows.AsSpan(0, Count));
        }

        var rows = new int[Count];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = i;
        }

        return _batch.ToArrow(rows);
    }

    /// <summary>The text of <paramref name="column"/> in record <paramref name="index"/> of the page.</summary>
    public string? GetText(int index, string column) => _batch.GetText(RowOf(index), column);

    /// <inheritdoc />
    public void Dispose() => _batch.Dispose();

    private int RowOf(int index) => _rows is null ? index : _rows[index];
}
