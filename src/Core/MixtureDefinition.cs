namespace OrleansShards.Core;

/// <summary>One source of a mixture as its order needs it.</summary>
/// <param name="Name">The source's name (unique in the job); it seeds the source's per-pass order.</param>
/// <param name="PartitionRecordCounts">The records of each of the source's pinned partitions.</param>
/// <param name="Weight">The source's weight in the job's spec.</param>
public sealed record MixtureSourceDefinition(string Name, IReadOnlyList<long> PartitionRecordCounts, double Weight)
{
    /// <summary>The records of one pass over the source.</summary>
    public long RecordCount => PartitionRecordCounts.Sum();
}

/// <summary>Everything of a mixture job its order depends on (besides the epoch, the block size and the journal).</summary>
/// <param name="Sources">The sources, in the job's order.</param>
/// <param name="ShardSize">The job's shard size.</param>
/// <param name="Shuffle">The job's shuffle flag.</param>
/// <param name="Seed">The job's seed.</param>
/// <param name="SamplesPerEpoch">The records a mixture epoch draws.</param>
public sealed record MixtureDefinition(IReadOnlyList<MixtureSourceDefinition> Sources, long ShardSize, bool Shuffle, ulong Seed, long SamplesPerEpoch)
{
    /// <summary>The seed of a source's per-pass orders: the job's seed mixed with the source's name.</summary>
    public ulong SeedOf(int source) => DeterministicHash.Mix(Seed, DeterministicHash.Of(Sources[source].Name));

    /// <summary>The weights of the spec.</summary>
    public IReadOnlyList<double> Weights => [.. Sources.Select(s => s.Weight)];
}
