namespace OrleansShards.Core;

/// <summary>Counters of one epoch.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointEpoch")]
public sealed record CheckpointEpoch
{
    /// <summary>The epoch.</summary>
    [Id(0)] public int Epoch { get; init; }

    /// <summary>Shards reported done.</summary>
    [Id(1)] public long ShardsDone { get; init; }

    /// <summary>Records of the shards reported done.</summary>
    [Id(2)] public long RecordsDelivered { get; init; }

    /// <summary>Leases that expired.</summary>
    [Id(3)] public long LeasesExpired { get; init; }

    /// <summary>Attempts reported failed.</summary>
    [Id(4)] public long AttemptsFailed { get; init; }
}
