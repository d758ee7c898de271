namespace OrleansShards.Core;

/// <summary>
/// The stored seals of a training run over a live job: where each kept step ends on every partition. Steps are
/// contiguous (a step begins on every partition where the previous one ended), so a step's ranges follow from two
/// rows of offsets and a seal is one row. O(partitions × kept steps): the steps after the oldest kept commit.
/// </summary>
[GenerateSerializer, Alias("shards.LiveRunState")]
public sealed class LiveRunState
{
    /// <summary>The first step whose seal is kept: the step after the oldest kept commit (0 with no commit).</summary>
    [Id(0)] public long FirstStep { get; set; }

    /// <summary>Per partition, the offset step <see cref="FirstStep"/> begins at (the run's retention floor).</summary>
    [Id(1)] public List<long> Start { get; set; } = [];

    /// <summary>
    /// <c>Ends[i][p]</c>: where step <c>FirstStep + i</c> ends on partition p. A row shorter than <see cref="Start"/>
    /// (partitions added to the topic after the seal) ends where the previous step ended on the missing partitions.
    /// </summary>
    [Id(2)] public List<List<long>> Ends { get; set; } = [];
}
