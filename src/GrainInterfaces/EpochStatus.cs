namespace OrleansShards.GrainInterfaces;

/// <summary>Counters of one epoch.</summary>
[GenerateSerializer, Immutable, Alias("shards.EpochStatus")]
public sealed record EpochStatus([property: Id(0)] int Epoch, [property: Id(1)] long ShardsDone, [property: Id(2)] long RecordsDelivered, [property: Id(3)] long LeasesExpired, [property: Id(4)] long AttemptsFailed);
