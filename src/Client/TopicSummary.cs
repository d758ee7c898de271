namespace OrleansShards.Client;

/// <summary>A topic as listed by <c>GET /v1/topics</c>.</summary>
/// <param name="Name">The topic.</param>
/// <param name="Partitions">Its number of partitions.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record TopicSummary(string Name, int Partitions, DateTimeOffset CreatedAt);
