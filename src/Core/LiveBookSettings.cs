namespace OrleansShards.Core;

/// <summary>How a live task book hands out shards.</summary>
/// <param name="ShardSize">Records of a full shard: a run of fresh shards is cut into pieces of this size.</param>
/// <param name="Ordered">At most one lease per partition at a time, so a partition is consumed strictly in offset order.</param>
/// <param name="LeaseTimeout">How long a lease lasts without a heartbeat.</param>
/// <param name="MaxAttempts">Failed or expired attempts after which a shard is dead-lettered.</param>
public sealed record LiveBookSettings(long ShardSize, bool Ordered, TimeSpan LeaseTimeout, int MaxAttempts);
