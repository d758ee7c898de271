using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>What the splitter of a live partition watches.</summary>
[GenerateSerializer, Alias("shards.LiveSplitterAssignment")]
public sealed class LiveSplitterAssignment
{
    /// <summary>The job, its partition, the partition's locator and the source.</summary>
    [Id(0)] public SplitterAssignment Assignment { get; set; } = null!;

    /// <summary>Records of a full shard.</summary>
    [Id(1)] public long ShardSize { get; set; }

    /// <summary>The longest wait before a partial shard is cut.</summary>
    [Id(2)] public int MaxWaitMs { get; set; }
}
