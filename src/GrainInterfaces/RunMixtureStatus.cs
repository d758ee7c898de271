using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>A run's mixture (<c>GET /v1/jobs/{id}/runs/{run}/mixture</c>): its journal, served mark and the sources' positions.</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunMixtureStatus")]
public sealed record RunMixtureStatus
{
    /// <summary>The run's name.</summary>
    [Id(0)] public required string Run { get; init; }

    /// <summary>The highest step served (durable), or null when none was.</summary>
    [Id(1)] public RunPosition? Served { get; init; }

    /// <summary>The step a re-weighting may start at, at the earliest: the step after <see cref="Served"/>.</summary>
    [Id(2)] public RunPosition EarliestReweighting { get; init; }

    /// <summary>The weights of the job's spec, by source name.</summary>
    [Id(3)] public required IReadOnlyDictionary<string, double> SpecWeights { get; init; }

    /// <summary>The journal, oldest first.</summary>
    [Id(4)] public required IReadOnlyList<RunMixtureEntry> Journal { get; init; }

    /// <summary>The sources at the run's resume step: weights in effect, draws so far, current pass and position in it.</summary>
    [Id(5)] public required IReadOnlyList<RunMixtureSource> Sources { get; init; }

    /// <summary>The step <see cref="Sources"/> describes (the run's resume step).</summary>
    [Id(6)] public RunPosition At { get; init; }
}

/// <summary>A journal entry of a run: from step <see cref="FromStep"/> of <see cref="FromEpoch"/> on, <see cref="Weights"/>.</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunMixtureEntry")]
public sealed record RunMixtureEntry(
    [property: Id(0)] int FromEpoch,
    [property: Id(1)] long FromStep,
    [property: Id(2)] IReadOnlyDictionary<string, double> Weights,
    [property: Id(3)] DateTimeOffset? At);

/// <summary>A source of a run's mixture at a step.</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunMixtureSource")]
public sealed record RunMixtureSource(
    [property: Id(0)] string Name,
    [property: Id(1)] double Weight,
    [property: Id(2)] long Records,
    [property: Id(3)] long Drawn,
    [property: Id(4)] long Pass,
    [property: Id(5)] long PositionInPass);
