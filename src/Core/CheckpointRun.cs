namespace OrleansShards.Core;

/// <summary>A training run in a checkpoint document: its spec and its kept commits, oldest first.</summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointRun
{
    /// <summary>The run's name.</summary>
    [Id(0)] public string? Run { get; init; }

    /// <summary>G, the records of a step over all ranks.</summary>
    [Id(1)] public int GlobalBatchSize { get; init; }

    /// <summary>Whether the last partial step of an epoch is left out.</summary>
    [Id(2)] public bool DropRemainder { get; init; } = true;

    /// <summary>The kept commits, oldest first; the last is the committed step.</summary>
    [Id(3)] public IReadOnlyList<CheckpointRunCommit>? Commits { get; init; }

    /// <summary>Over a mixture (issue 15): the highest step served, or null.</summary>
    [Id(20)] public RunPosition? Served { get; init; }

    /// <summary>Over a mixture: the run's journal of re-weightings (positions are fromStep · G), oldest first; null when empty.</summary>
    [Id(21)] public IReadOnlyList<MixtureReweighting>? Journal { get; init; }

    /// <summary>A live run's seals (committed offsets and sealed steps); null for a run over a static job.</summary>
    [Id(10)] public CheckpointLiveRun? Live { get; init; }
}
