namespace OrleansShards.Core;

/// <summary>Counters of one epoch.</summary>
[GenerateSerializer, Alias("shards.EpochCounters")]
public sealed class EpochCounters
{
    /// <summary>Shards reported done.</summary>
    [Id(0)] public long ShardsDone { get; set; }

    /// <summary>Records of the shards reported done.</summary>
    [Id(1)] public long RecordsDelivered { get; set; }

    /// <summary>Leases that expired.</summary>
    [Id(2)] public long Expired { get; set; }

    /// <summary>Attempts reported failed.</summary>
    [Id(3)] public long Failed { get; set; }

    /// <summary>The epoch these counters belong to.</summary>
    [Id(4)] public int Epoch { get; set; }
}
