using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>What a silo needs to serve any batch of a run, outside the run grain.</summary>
/// <param name="Job">The job's read plan (pinned files, shard size, shuffle, seed, epochs).</param>
/// <param name="Steps">The run's step arithmetic.</param>
/// <param name="Journal">Over a mixture: the run's journal of re-weightings (issue 15); null otherwise.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunBatchPlan")]
public sealed record RunBatchPlan([property: Id(0)] JobReadPlan Job, [property: Id(1)] RunSteps Steps, [property: Id(20)] IReadOnlyList<MixtureReweighting>? Journal = null);
