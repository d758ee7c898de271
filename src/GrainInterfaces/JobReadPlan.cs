using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>What a reader needs to read any shard of a job, outside the job grain.</summary>
[GenerateSerializer, Immutable, Alias("shards.JobReadPlan")]
public sealed record JobReadPlan(
    [property: Id(0)] SourceSpec Source,
    [property: Id(1)] IReadOnlyList<PinnedFile> Files,
    [property: Id(2)] long ShardSize,
    [property: Id(3)] int CurrentEpoch,
    [property: Id(4)] int Epochs,
    [property: Id(5)] bool Shuffle,
    [property: Id(6)] long Seed,
    [property: Id(7)] bool Live = false,
    [property: Id(20)] MixturePlan? Mixture = null);
