namespace OrleansShards.GrainInterfaces;

/// <summary>One partition of a live run as its status shows it.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="Committed">The run's committed offset: where the step after the last commit begins on this partition.</param>
/// <param name="HighWatermark">The offset the next record appended gets.</param>
/// <param name="Lag">Records appended past the committed offset (high-water mark minus committed).</param>
/// <param name="FirstRetained">The first offset the partition still holds.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunPartitionStatus")]
public sealed record RunPartitionStatus(
    [property: Id(0)] int Partition,
    [property: Id(1)] long Committed,
    [property: Id(2)] long HighWatermark,
    [property: Id(3)] long Lag,
    [property: Id(4)] long FirstRetained);
