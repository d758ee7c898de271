using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>The stored state of a run: O(1) for a static job (its spec and at most <see cref="RunBook.KeptCommits"/> commits).</summary>
[GenerateSerializer, Alias("OrleansShards.RunState")]
public sealed class RunState
{
    /// <summary>The run's spec; null when the run does not exist.</summary>
    [Id(0)] public RunSpec? Spec { get; set; }

    /// <summary>The kept commits.</summary>
    [Id(1)] public RunBookState Book { get; set; } = new();

    /// <summary>When the run was created.</summary>
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Over a mixture (issue 15): the served mark and the journal of re-weightings.</summary>
    [Id(20)] public RunMixtureState Mixture { get; set; } = new();

    /// <summary>Live runs: the seals of the kept steps; null for a run over a static job. (Id 10 leaves room for other additions.)</summary>
    [Id(10)] public LiveRunState? Live { get; set; }
}
