namespace OrleansShards.Core;

/// <summary>The spec of a checkpointed job: the whitelisted fields of <see cref="JobSpec"/>, without the id.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointSpec")]
public sealed record CheckpointSpec
{
    /// <summary>The data source.</summary>
    [Id(0)] public CheckpointSource? Source { get; init; }

    /// <summary>Records per shard.</summary>
    [Id(1)] public long ShardSize { get; init; }

    /// <summary>Passes over the data.</summary>
    [Id(2)] public int Epochs { get; init; }

    /// <summary>Whether shards come in a seeded random order.</summary>
    [Id(3)] public bool Shuffle { get; init; }

    /// <summary>The shuffle seed.</summary>
    [Id(4)] public long Seed { get; init; }

    /// <summary>How long a lease lasts without a heartbeat.</summary>
    [Id(5)] public int LeaseTimeoutSeconds { get; init; }

    /// <summary>Failed or expired attempts after which a shard is dead-lettered.</summary>
    [Id(6)] public int MaxAttempts { get; init; }

    /// <summary><c>strict</c> or <c>batched</c>.</summary>
    [Id(7)] public string? Durability { get; init; }

    /// <summary>Batched mode: the longest time between state writes.</summary>
    [Id(8)] public int? FlushIntervalMs { get; init; }

    /// <summary>Live sources: the longest wait before a partial shard is cut.</summary>
    [Id(9)] public int? MaxWaitMs { get; init; }

    /// <summary>Live sources: at most one lease per partition at a time.</summary>
    [Id(10)] public bool Ordered { get; init; }
}
