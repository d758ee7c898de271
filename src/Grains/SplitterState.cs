using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>The persisted state of a splitter.</summary>
[GenerateSerializer, Alias("shards.SplitterState")]
public sealed class SplitterState
{
    /// <summary>The partition's file as described, once described.</summary>
    [Id(0)] public PinnedFile? File { get; set; }

    /// <summary>Whether the job acknowledged the partition's shards: the offset split up to is then the record count.</summary>
    [Id(1)] public bool Acknowledged { get; set; }

    /// <summary>The partition index.</summary>
    [Id(2)] public int Partition { get; set; }

    /// <summary>Live partitions: what the splitter watches, so it resumes by itself after a restart.</summary>
    [Id(3)] public LiveSplitterAssignment? Live { get; set; }

    /// <summary>Live partitions: the offset split up to, as the job last acknowledged it.</summary>
    [Id(4)] public long SplitUpTo { get; set; }
}
