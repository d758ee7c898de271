namespace OrleansShards.GrainInterfaces;

/// <summary>A request for leases.</summary>
[GenerateSerializer, Immutable, Alias("shards.LeaseRequest")]
public sealed record LeaseRequest([property: Id(0)] string WorkerId, [property: Id(1)] int MaxTasks, [property: Id(2)] string? RequestId = null);
