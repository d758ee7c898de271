namespace OrleansShards.Core;

/// <summary>
/// An entry of a mixture's journal: from position <see cref="FromPosition"/> of epoch <see cref="FromEpoch"/> on, the
/// sources are drawn with <see cref="Weights"/> (in the order of the job's sources).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.MixtureReweighting")]
public sealed record MixtureReweighting
{
    /// <summary>The epoch the weights take effect in.</summary>
    [Id(0)] public int FromEpoch { get; init; }

    /// <summary>The first position of that epoch's mixture order drawn with them (for a run: fromStep · G).</summary>
    [Id(1)] public long FromPosition { get; init; }

    /// <summary>The weights, one per source in the job's order, as the client gave them.</summary>
    [Id(2)] public IReadOnlyList<double> Weights { get; init; } = [];

    /// <summary>When the re-weighting was journaled.</summary>
    [Id(3)] public DateTimeOffset? At { get; init; }

    /// <summary>Whether this entry takes effect before (<paramref name="epoch"/>, <paramref name="position"/>) or at it.</summary>
    public bool AppliesAt(int epoch, long position) => FromEpoch < epoch || (FromEpoch == epoch && FromPosition <= position);
}
