namespace OrleansShards.Core;

/// <summary>Progress of the current epoch, in shards.</summary>
/// <param name="Total">Shards in an epoch.</param>
/// <param name="Todo">Shards not handed out yet or waiting to be handed out again.</param>
/// <param name="Doing">Shards leased now.</param>
/// <param name="Done">Shards reported done.</param>
/// <param name="Failed">Shards dead-lettered in this epoch.</param>
[GenerateSerializer, Immutable, Alias("shards.ShardProgress")]
public sealed record ShardProgress([property: Id(0)] long Total, [property: Id(1)] long Todo, [property: Id(2)] long Doing, [property: Id(3)] long Done, [property: Id(4)] long Failed);
