namespace OrleansShards.Readers;

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
