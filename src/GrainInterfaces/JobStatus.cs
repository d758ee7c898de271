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
    [property: Id(10)] DateTimeOffset CreatedAt)
{
    /// <summary>
    /// Dead letters not in <see cref="DeadLetters"/>, which lists the latest ones only (a job whose every shard failed
    /// would otherwise answer with all of them); null when every one is listed.
    /// </summary>
    [Id(11)] public int? DeadLettersNotListed { get; init; }
}
