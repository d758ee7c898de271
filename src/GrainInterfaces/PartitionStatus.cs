namespace OrleansShards.GrainInterfaces;

/// <summary>One partition of a job as status shows it.</summary>
[GenerateSerializer, Immutable, Alias("shards.PartitionStatus")]
public sealed record PartitionStatus(
    [property: Id(0)] int Partition,
    [property: Id(1)] string Path,
    [property: Id(2)] long? Records,
    [property: Id(3)] long? Shards,
    [property: Id(4)] bool Acknowledged)
{
    /// <summary>Live partitions: the offset the next record appended gets.</summary>
    [Id(5)] public long? HighWatermark { get; init; }

    /// <summary>Live partitions: the end of the last shard cut.</summary>
    [Id(6)] public long? SplitUpTo { get; init; }

    /// <summary>Live partitions: the end of the contiguous prefix of done shards.</summary>
    [Id(7)] public long? Committed { get; init; }

    /// <summary>Live partitions: records appended and not yet committed (high-water mark minus committed).</summary>
    [Id(8)] public long? Lag { get; init; }
}
