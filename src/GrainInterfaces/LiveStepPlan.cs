using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>What a silo needs to serve a step of a live run, or to wait for it (<see cref="IRunGrain.SealLiveStep"/>).</summary>
/// <param name="Sealed">Whether the step is sealed: its <see cref="Ranges"/> are fixed for good.</param>
/// <param name="Job">The job's read plan now (the partitions' locators).</param>
/// <param name="Ranges">The step's per-partition offset ranges when sealed; empty otherwise.</param>
/// <param name="GlobalBatchSize">G, the records of the step.</param>
/// <param name="HighWatermarks">Per partition, the high-water mark the run saw: a silo waiting for the step waits for appends past them.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.LiveStepPlan")]
public sealed record LiveStepPlan(
    [property: Id(0)] bool Sealed,
    [property: Id(1)] JobReadPlan Job,
    [property: Id(2)] IReadOnlyList<LiveStepRange> Ranges,
    [property: Id(3)] int GlobalBatchSize,
    [property: Id(4)] IReadOnlyList<long> HighWatermarks);
