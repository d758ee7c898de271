using System.Text.Json;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Readers;

/// <summary>
/// A batch of records read from one shard. Rows are written to JSON one at a time so that a caller
/// can page through them or emit them in a shuffled order without copying.
/// </summary>
public abstract class RecordBatch : IDisposable
{
    /// <summary>The number of records in the batch.</summary>
    public abstract int Count { get; }

    /// <summary>Writes record <paramref name="row"/> as one JSON object of its columns.</summary>
    public abstract void WriteRecord(Utf8JsonWriter writer, int row);

    /// <summary>The value of <paramref name="column"/> in record <paramref name="row"/> as text, or <see langword="null"/>.</summary>
    public abstract string? GetText(int row, string column);

    /// <summary>
    /// The columns of every record of the batch, in output order, when the batch knows them (CSV; a projection);
    /// <see langword="null"/> when each record carries its own properties (JSON Lines without a projection).
    /// </summary>
    public virtual IReadOnlyList<string>? ColumnNames => null;

    /// <summary>
    /// The records <paramref name="rows"/> (indexes into this batch, in the order wanted; an index may repeat) as one
    /// Arrow record batch that the caller owns and disposes. This is the hook of the Arrow wire format
    /// (<c>GET .../records?format=arrow</c>).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The default writes each record with <see cref="WriteRecord"/> and types the columns from the JSON values
    /// (<see cref="ArrowRecords.FromJson"/>): <c>bool</c>, <c>int64</c>, <c>float64</c>, <c>utf8</c>, with nulls for
    /// missing values, so the Arrow answer holds exactly what the JSON answer holds. Types are inferred from the rows
    /// asked for, so two pages of a schemaless source may type a column differently.
    /// </para>
    /// <para>
    /// Batches of sources that have a schema override this to build their arrays directly with the source's types
    /// (<see cref="Parquet.ParquetArrow"/>: the Parquet schema; <see cref="TfRecord.TfRecordArrow"/>: the feature kinds; <see cref="Sql.SqlArrow"/>:
    /// the declared column types), and batches that can build the same columns faster override
    /// it too (CSV: every column is <c>utf8</c>, appended from the UTF-8 bytes as read). An override must keep the
    /// values equal to the JSON answer's and should keep <see cref="ColumnNames"/> as the field order.
    /// </para>
    /// </remarks>
    public virtual Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows)
    {
        var copy = rows.ToArray();
        return ArrowRecords.FromJson(copy.Length, (writer, i) => WriteRecord(writer, copy[i]), ColumnNames);
    }

    /// <summary>Returns pooled buffers.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
