namespace OrleansShards.GrainInterfaces.Http;

/// <summary>Body of <c>POST /v1/topics</c>.</summary>
/// <param name="Name">The topic name: 1 to 128 letters, digits, '-', '_' or '.'.</param>
/// <param name="Partitions">The number of partitions (1 to 10,000).</param>
public sealed record CreateTopicBody(string? Name, int? Partitions);
