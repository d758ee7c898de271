namespace OrleansShards.GrainInterfaces.Http;

/// <summary>Body of <c>POST /v1/topics/{t}/partitions</c>: grow the topic to this many partitions.</summary>
/// <param name="Partitions">The new number of partitions; never fewer than now.</param>
public sealed record AddPartitionsBody(int? Partitions);
