namespace OrleansShards.Readers.Indexing;

/// <summary>
/// A file format read through a sparse record index: the first describe (or read) of a file scans
/// it once, and the index is kept beside the file and in memory for every later read.
/// </summary>
public abstract class IndexedPartitionReader : IPartitionReader
{
    /// <summary>Creates the reader; <paramref name="formatKey"/> names the format and every option that changes where records start.</summary>
    private protected IndexedPartitionReader(string formatKey) =>
        Indexes = new RecordIndexStore(formatKey, (path, cancellationToken) => Scan(path, formatKey, cancellationToken));

    /// <summary>How many full scans this reader made to build indexes (for metrics and tests).</summary>
    public long IndexScanCount => Indexes.Scans;

    /// <summary>How many indexes this reader loaded from side files instead of scanning.</summary>
    public long IndexLoadCount => Indexes.SideFileLoads;

    private protected RecordIndexStore Indexes { get; }

    /// <inheritdoc />
    public ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
        => ReaderCore.DescribeAsync(Indexes, path, cancellationToken);

    /// <inheritdoc />
    public abstract ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default);

    /// <summary>Scans a whole file once: counts its records, hashes its bytes and keeps every stride-th record's offset.</summary>
    private protected abstract RecordIndex Scan(string path, string formatKey, CancellationToken cancellationToken);
}
