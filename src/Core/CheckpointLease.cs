namespace OrleansShards.Core;

/// <summary>A lease in flight.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointLease")]
public sealed record CheckpointLease
{
    /// <summary>The task.</summary>
    [Id(0)] public string? TaskId { get; init; }

    /// <summary>The lease id.</summary>
    [Id(1)] public string? LeaseId { get; init; }

    /// <summary>The worker holding it.</summary>
    [Id(2)] public string? WorkerId { get; init; }

    /// <summary>Which attempt at the shard the lease is, from 1.</summary>
    [Id(3)] public int Attempt { get; init; }

    /// <summary>When the lease expires unless renewed.</summary>
    [Id(4)] public DateTimeOffset ExpiresAt { get; init; }
}
