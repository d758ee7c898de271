namespace OrleansShards.Core;

/// <summary>One source of a mixture job (<c>"sources": [{"name", "source", "weight"}]</c>, issue 15).</summary>
[GenerateSerializer, Immutable, Alias("shards.MixtureSourceSpec")]
public sealed record MixtureSourceSpec
{
    /// <summary>The source's name, unique in the job: records carry it in <c>_source</c>, weights name it.</summary>
    [Id(0)] public string Name { get; init; } = "";

    /// <summary>Where the source's records come from (a static source).</summary>
    [Id(1)] public SourceSpec? Source { get; init; }

    /// <summary>The source's weight: a positive number.</summary>
    [Id(2)] public double Weight { get; init; }
}
