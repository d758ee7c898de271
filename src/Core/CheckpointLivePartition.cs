namespace OrleansShards.Core;

/// <summary>One partition of a live job in a checkpoint. Every offset of <c>[Committed, SplitUpTo)</c> lies in exactly one of the lists or in a lease of <c>doing</c>.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointLivePartition")]
public sealed record CheckpointLivePartition
{
    /// <summary>The partition index.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>The partition as users name it (<c>topic/partition</c>).</summary>
    [Id(1)] public string? Path { get; init; }

    /// <summary>The end of the contiguous prefix of done shards.</summary>
    [Id(2)] public long Committed { get; init; }

    /// <summary>The end of the last shard cut.</summary>
    [Id(3)] public long SplitUpTo { get; init; }

    /// <summary>Shards cut and never leased, as runs cut into pieces of the job's shard size.</summary>
    [Id(4)] public IReadOnlyList<CheckpointRange>? Fresh { get; init; }

    /// <summary>Shards waiting to be leased again.</summary>
    [Id(5)] public IReadOnlyList<CheckpointRange>? Requeued { get; init; }

    /// <summary>Shards done (or dead-lettered) above the committed offset.</summary>
    [Id(6)] public IReadOnlyList<CheckpointRange>? DoneAhead { get; init; }
}
