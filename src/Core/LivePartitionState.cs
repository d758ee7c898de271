namespace OrleansShards.Core;

/// <summary>One partition of a live task book.</summary>
[GenerateSerializer, Alias("shards.LivePartitionState")]
public sealed class LivePartitionState
{
    /// <summary>The end of the contiguous prefix of done (or dead-lettered) shards.</summary>
    [Id(0)] public long Committed { get; set; }

    /// <summary>The end of the last shard cut.</summary>
    [Id(1)] public long SplitUpTo { get; set; }

    /// <summary>Shards cut and never leased, as runs in offset order; a run is cut into pieces of the job's shard size.</summary>
    [Id(2)] public List<OffsetRange> Fresh { get; set; } = [];

    /// <summary>Shards leased before and waiting to be leased again, in offset order.</summary>
    [Id(3)] public List<OffsetRange> Requeued { get; set; } = [];

    /// <summary>Shards done or dead-lettered above <see cref="Committed"/>, in offset order.</summary>
    [Id(4)] public List<OffsetRange> DoneAhead { get; set; } = [];

    /// <summary>The high-water mark last reported by the partition's splitter (for status only).</summary>
    [Id(5)] public long HighWatermark { get; set; }

    /// <summary>The first offset the source still holds, as last reported by the splitter (for status only).</summary>
    [Id(6)] public long FirstRetained { get; set; }
}
