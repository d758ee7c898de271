namespace OrleansShards.GrainInterfaces;

/// <summary>Records counters of a job.</summary>
[GenerateSerializer, Immutable, Alias("shards.RecordCounts")]
public sealed record RecordCounts([property: Id(0)] long Delivered, [property: Id(1)] long? Total);
