using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>The status of a job (docs/http-api.md, <c>GET /v1/jobs/{id}</c>).</summary>
[GenerateSerializer, Immutable, Alias("shards.JobStatus")]
public sealed record JobStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] string State,
    [property: Id(2)] int Epoch,
    [property: Id(3)] int Epochs,
    [property: Id(4)] ShardProgress Shards,
    [property: Id(5)] RecordCounts Records,
    [property: Id(6)] IReadOnlyList<PartitionStatus> Partitions,
    [property: Id(7)] IReadOnlyList<EpochStatus> EpochHistory,
    [property: Id(8)] IReadOnlyList<DeadLetterStatus> DeadLetters,
    [property: Id(9)] JobSpec Spec,
    [property: Id(10)] DateTimeOffset CreatedAt);
