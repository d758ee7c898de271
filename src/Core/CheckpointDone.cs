namespace OrleansShards.Core;

/// <summary>What is done: the current epoch's count, totals, and counters of the latest epochs.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointDone")]
public sealed record CheckpointDone
{
    /// <summary>Shards done in the current epoch (derived: positions below the cursor not in flight, re-queued or dead-lettered).</summary>
    [Id(0)] public long Shards { get; init; }

    /// <summary>Shards reported done, over every epoch.</summary>
    [Id(1)] public long TotalShards { get; init; }

    /// <summary>Records of the shards reported done, over every epoch.</summary>
    [Id(2)] public long TotalRecords { get; init; }

    /// <summary>Counters of the latest epochs, oldest first, the current one last.</summary>
    [Id(3)] public IReadOnlyList<CheckpointEpoch>? Epochs { get; init; }
}
