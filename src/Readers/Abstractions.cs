using System.Text.Json;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Readers;

/// <summary>
/// What a job pins of a file when it is created, so that a file changed under a running job is
/// detected instead of serving shifted records.
/// </summary>
/// <param name="Length">The file's size in bytes.</param>
/// <param name="LastWriteTimeUtcTicks">The file's modification time, UTC ticks.</param>
/// <param name="ContentHash">XxHash3 of the file's bytes.</param>
public sealed record FileFingerprint(long Length, long LastWriteTimeUtcTicks, ulong ContentHash);

/// <summary>One file (a partition) as a reader sees it.</summary>
/// <param name="Path">The absolute path of the file.</param>
/// <param name="RecordCount">The number of records in the file (a CSV header is not a record).</param>
/// <param name="Fingerprint">The file's fingerprint when it was described.</param>
/// <param name="Columns">
/// The column names known up front: for CSV the header (or <c>c0</c>, <c>c1</c>, ... without one); for JSON Lines the
/// property names of the first record, in their order (later records may have others; empty when the file has no
/// records or its first record is not a JSON object).
/// </param>
public sealed record PartitionDescription(string Path, long RecordCount, FileFingerprint Fingerprint, IReadOnlyList<string> Columns);

/// <summary>A request to read the records <c>[Start, End)</c> of one file.</summary>
/// <param name="Path">The absolute path of the file.</param>
/// <param name="Expected">The fingerprint pinned when the job was created.</param>
/// <param name="Start">The index of the first record to read.</param>
/// <param name="End">One past the index of the last record to read.</param>
/// <param name="Columns">The columns to return, in this order; <see langword="null"/> for all.</param>
/// <param name="Limit">At most this many records; <see langword="null"/> for all of the range.</param>
public sealed record ShardReadRequest(string Path, FileFingerprint Expected, long Start, long End, IReadOnlyList<string>? Columns = null, int? Limit = null);

/// <summary>
/// Reads one file format: describes a file (record count, fingerprint, columns) and reads a range of
/// its records as one batch. Implementations are thread-safe and cache the sparse record index of a file.
/// </summary>
public interface IPartitionReader
{
    /// <summary>Describes a file, building or reusing its sparse record index.</summary>
    ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the records <c>[Start, End)</c> of a file as one batch.
    /// </summary>
    /// <exception cref="SourceChangedException">The file no longer matches <see cref="ShardReadRequest.Expected"/>.</exception>
    /// <exception cref="MalformedRecordException">A record in the range cannot be parsed.</exception>
    ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default);
}

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

/// <summary>A file changed after the job pinned its fingerprint.</summary>
public sealed class SourceChangedException(string path, string reason)
    : IOException($"{path}: the file changed since the job was created ({reason}); its shards cannot be read without serving shifted records")
{
    /// <summary>The file that changed.</summary>
    public string Path { get; } = path;
}

/// <summary>A record that cannot be parsed; names the file and the record.</summary>
public sealed class MalformedRecordException(string path, long recordIndex, long byteOffset, string reason)
    : FormatException($"{path}: record {recordIndex} (byte offset {byteOffset}) is malformed: {reason}")
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>The zero-based index of the record.</summary>
    public long RecordIndex { get; } = recordIndex;

    /// <summary>The byte offset where the record starts.</summary>
    public long ByteOffset { get; } = byteOffset;
}
