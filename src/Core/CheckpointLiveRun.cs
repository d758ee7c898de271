namespace OrleansShards.Core;

/// <summary>
/// The seals of a live run in a checkpoint document (<see cref="LiveRunState"/>): the kept steps' per-partition end
/// offsets from <see cref="FirstStep"/>, so the copy serves every kept step with the same records.
/// </summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointLiveRun")]
public sealed record CheckpointLiveRun
{
    /// <summary>The first step whose seal is kept.</summary>
    [Id(0)] public long FirstStep { get; init; }

    /// <summary>Per partition, where step <see cref="FirstStep"/> begins.</summary>
    [Id(1)] public IReadOnlyList<long>? Start { get; init; }

    /// <summary>Per kept step, where it ends on every partition.</summary>
    [Id(2)] public IReadOnlyList<IReadOnlyList<long>>? Ends { get; init; }
}
