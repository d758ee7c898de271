using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>A dead-lettered shard with its last error.</summary>
[GenerateSerializer, Immutable, Alias("shards.DeadLetterStatus")]
public sealed record DeadLetterStatus([property: Id(0)] string TaskId, [property: Id(1)] int Epoch, [property: Id(2)] ShardRange Shard, [property: Id(3)] int Attempts, [property: Id(4)] string LastError);
