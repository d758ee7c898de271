namespace OrleansShards.Core;

/// <summary>A lease handed to a worker.</summary>
/// <param name="LeaseId">The lease id; reports and heartbeats name it.</param>
/// <param name="TaskId">The deterministic task id of the shard in its epoch.</param>
/// <param name="Epoch">The epoch.</param>
/// <param name="Attempt">Which attempt at the shard this is, from 1.</param>
/// <param name="Shard">The shard.</param>
/// <param name="ExpiresAt">When the lease ends unless renewed.</param>
public readonly record struct GrantedLease(string LeaseId, string TaskId, int Epoch, int Attempt, ShardRange Shard, DateTimeOffset ExpiresAt);
