namespace OrleansShards.Core;

/// <summary>A lease in flight.</summary>
[GenerateSerializer, Alias("shards.LeaseRecord")]
public sealed class LeaseRecord : IHeldLease
{
    /// <summary>The lease id.</summary>
    [Id(0)] public string LeaseId { get; set; } = "";

    /// <summary>The global shard index.</summary>
    [Id(1)] public long Shard { get; set; }

    /// <summary>The epoch the lease belongs to.</summary>
    [Id(2)] public int Epoch { get; set; }

    /// <summary>The attempt this lease is, from 1.</summary>
    [Id(3)] public int Attempt { get; set; }

    /// <summary>The worker that holds the lease.</summary>
    [Id(4)] public string WorkerId { get; set; } = "";

    /// <summary>When the lease expires.</summary>
    [Id(5)] public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>The client's request id, so a retried lease request gets the same leases.</summary>
    [Id(6)] public string? RequestId { get; set; }
}
