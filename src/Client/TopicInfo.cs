namespace OrleansShards.Client;

/// <summary>A topic of the built-in log and its partitions' bounds (<c>GET /v1/topics/{t}</c>).</summary>
/// <param name="Name">The topic.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="Partitions">Each partition's retained range.</param>
public sealed record TopicInfo(string Name, DateTimeOffset CreatedAt, IReadOnlyList<TopicPartitionInfo> Partitions);
