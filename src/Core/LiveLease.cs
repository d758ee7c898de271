namespace OrleansShards.Core;

/// <summary>A lease in flight of a live job.</summary>
[GenerateSerializer, Alias("shards.LiveLease")]
public sealed class LiveLease : IHeldLease
{
    /// <summary>The lease id.</summary>
    [Id(0)] public string LeaseId { get; set; } = "";

    /// <summary>The shard.</summary>
    [Id(1)] public ShardRange Shard { get; set; }

    /// <summary>The attempt this lease is, from 1.</summary>
    [Id(2)] public int Attempt { get; set; }

    /// <summary>The worker that holds the lease.</summary>
    [Id(3)] public string WorkerId { get; set; } = "";

    /// <summary>When the lease expires.</summary>
    [Id(4)] public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>The client's request id, so a retried lease request gets the same leases.</summary>
    [Id(5)] public string? RequestId { get; set; }
}
