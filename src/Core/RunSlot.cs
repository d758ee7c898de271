namespace OrleansShards.Core;

/// <summary>Where a position of an epoch's global order reads from: a shard of the job and a row of that shard.</summary>
/// <param name="ShardIndex">The shard's index in the job's <see cref="ShardCatalog"/>.</param>
/// <param name="Shard">The shard.</param>
/// <param name="Row">The record of the shard, counted from <see cref="ShardRange.Start"/> (0 is the shard's first record).</param>
public readonly record struct RunSlot(long ShardIndex, ShardRange Shard, long Row);
