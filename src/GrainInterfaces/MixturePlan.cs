using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>One source of a mixture job's read plan: its spec, weight and the job partitions that are its.</summary>
/// <param name="Name">The source's name.</param>
/// <param name="Source">Where its records come from.</param>
/// <param name="Weight">Its weight in the job's spec.</param>
/// <param name="FirstPartition">Its first partition among the job's partitions.</param>
/// <param name="Partitions">Its number of partitions.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.MixturePlanSource")]
public sealed record MixturePlanSource(
    [property: Id(0)] string Name,
    [property: Id(1)] SourceSpec Source,
    [property: Id(2)] double Weight,
    [property: Id(3)] int FirstPartition,
    [property: Id(4)] int Partitions);

/// <summary>The mixture of a job's read plan (issue 15): the job's partitions are its sources' partitions, source after source.</summary>
/// <param name="Sources">The sources, in the job's order.</param>
/// <param name="SamplesPerEpoch">The records a mixture epoch draws.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.MixturePlan")]
public sealed record MixturePlan([property: Id(0)] IReadOnlyList<MixturePlanSource> Sources, [property: Id(1)] long SamplesPerEpoch)
{
    /// <summary>The index of the source partition <paramref name="partition"/> of the job belongs to.</summary>
    public int SourceOf(int partition)
    {
        for (var s = Sources.Count - 1; s > 0; s--)
        {
            if (partition >= Sources[s].FirstPartition)
            {
                return s;
            }
        }

        return 0;
    }

    /// <summary>The index of the source named <paramref name="name"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (var s = 0; s < Sources.Count; s++)
        {
            if (Sources[s].Name == name)
            {
                return s;
            }
        }

        return -1;
    }

    /// <summary>The mixture as its order needs it, with the record counts of <paramref name="plan"/>'s pinned files.</summary>
    public MixtureDefinition Definition(JobReadPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new MixtureDefinition(
            [.. Sources.Select(s => new MixtureSourceDefinition(s.Name, [.. plan.Files.Skip(s.FirstPartition).Take(s.Partitions).Select(f => f.RecordCount)], s.Weight))],
            plan.ShardSize,
            plan.Shuffle,
            unchecked((ulong)plan.Seed),
            SamplesPerEpoch);
    }
}
