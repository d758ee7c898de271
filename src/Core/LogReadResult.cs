namespace OrleansShards.Core;

/// <summary>Records read from a partition, with the partition's bounds at the time of the read.</summary>
/// <param name="Records">The records, in offset order, without gaps.</param>
/// <param name="Bounds">The partition's retained range when it was read.</param>
[GenerateSerializer, Immutable, Alias("shards.LogReadResult")]
public sealed record LogReadResult([property: Id(0)] IReadOnlyList<LogRecord> Records, [property: Id(1)] PartitionBounds Bounds)
{
    /// <summary>The offset to read next: one past the last record, or the requested offset when none was read.</summary>
    public long NextOffset(long fromOffset) => Records.Count == 0 ? fromOffset : Records[^1].Offset + 1;
}
