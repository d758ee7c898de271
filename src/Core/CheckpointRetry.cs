namespace OrleansShards.Core;

/// <summary>A shard leased more than once in its epoch.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointRetry")]
public sealed record CheckpointRetry
{
    /// <summary>The task.</summary>
    [Id(0)] public string? TaskId { get; init; }

    /// <summary>Failed or expired attempts so far.</summary>
    [Id(1)] public int FailedAttempts { get; init; }

    /// <summary>Leases handed out for the shard so far, released ones included.</summary>
    [Id(2)] public int Leases { get; init; }

    /// <summary>The last error, if any.</summary>
    [Id(3)] public string? LastError { get; init; }

    /// <summary>The lease whose report completed the shard, once done.</summary>
    [Id(4)] public string? CompletedBy { get; init; }
}
