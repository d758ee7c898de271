namespace OrleansShards.GrainInterfaces;

/// <summary>A worker's report on a lease.</summary>
[GenerateSerializer, Immutable, Alias("shards.TaskReport")]
public sealed record TaskReport(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string LeaseId,
    [property: Id(2)] string WorkerId,
    [property: Id(3)] bool Done,
    [property: Id(4)] string? Error = null);
