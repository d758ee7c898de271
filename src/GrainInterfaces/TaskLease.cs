using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>A lease handed out.</summary>
[GenerateSerializer, Immutable, Alias("shards.TaskLease")]
public sealed record TaskLease(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string LeaseId,
    [property: Id(2)] int Epoch,
    [property: Id(3)] int Attempt,
    [property: Id(4)] ShardRange Shard,
    [property: Id(5)] DateTimeOffset ExpiresAt);
