using OrleansShards.Core;

namespace OrleansShards.Grains;

/// <summary>
/// A run's mixture state (issue 15): the highest step served and the journal of re-weightings. Replaced as a whole on
/// every change, so a failed write can put the previous one back.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunMixtureState")]
public sealed record RunMixtureState
{
    /// <summary>The highest step any rank was served, or null; durable before the batch is answered.</summary>
    [Id(0)] public RunPosition? Served { get; init; }

    /// <summary>The re-weightings, ordered by (fromEpoch, fromPosition).</summary>
    [Id(1)] public IReadOnlyList<MixtureReweighting> Journal { get; init; } = [];
}
