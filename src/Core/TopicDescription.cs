namespace OrleansShards.Core;

/// <summary>A topic of the built-in log.</summary>
/// <param name="Name">The topic name.</param>
/// <param name="Partitions">The number of partitions, numbered from 0.</param>
/// <param name="CreatedAt">When the topic was created.</param>
[GenerateSerializer, Immutable, Alias("shards.TopicDescription")]
public sealed record TopicDescription([property: Id(0)] string Name, [property: Id(1)] int Partitions, [property: Id(2)] DateTimeOffset CreatedAt);
