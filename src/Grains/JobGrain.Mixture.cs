using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>A job over a mixture of sources (issue 15): its partitions are the sources' partitions, source after source.</summary>
public sealed partial class JobGrain
{
    /// <summary>The partitions of every source of a mixture, concatenated, and how many each source has.</summary>
    private async Task<(IReadOnlyList<string> Files, List<int> Partitions)> ResolveMixture(JobSpec spec)
    {
        var files = new List<string>();
        var partitions = new List<int>();
        for (var i = 0; i < spec.Sources!.Count; i++)
        {
            IReadOnlyList<string> resolved;
            try
            {
                resolved = await readers.ResolvePartitionsAsync(spec.Sources[i].Source!);
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.Invalid)
            {
                var field = e.Field is { } f && f.StartsWith("source", StringComparison.Ordinal) ? $"sources[{i}].{f}" : $"sources[{i}].source";
                throw new ShardsException(ShardsErrorKind.Invalid, field, $"source '{spec.Sources[i].Name}': {e.Message}");
            }

            files.AddRange(resolved);
            partitions.Add(resolved.Count);
        }

        return (files, partitions);
    }

    /// <summary>The source partition <paramref name="partition"/> is read from.</summary>
    private SourceSpec SourceOfPartition(int partition)
    {
        var spec = State.Spec!;
        if (!spec.IsMixture || State.MixturePartitions is not { } counts)
        {
            return spec.Source!;
        }

        var first = 0;
        for (var s = 0; s < counts.Count; s++)
        {
            if (partition < first + counts[s])
            {
                return spec.Sources![s].Source!;
            }

            first += counts[s];
        }

        throw new ShardsException(ShardsErrorKind.Invalid, "partition", $"job '{JobId}' has no partition {partition}");
    }

    private void RefuseCheckpointOfMixture()
    {
        if (State.Spec!.IsMixture)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "sources", $"job '{JobId}' is a mixture: a checkpoint document describes one source, so mixture jobs are not exported yet (their runs' journals and served marks are kept in the runs' own state)");
        }
    }

    private void RefuseLeasesOverMixture()
    {
        if (State.Spec!.IsMixture)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "sources", $"job '{JobId}' is a mixture: mixtures are served through runs (POST /v1/jobs/{JobId}/runs); leases over mixtures are not served yet");
        }
    }
}

/// <summary>The mixture plan of a job's stored state.</summary>
internal static class MixturePlans
{
    /// <summary>The mixture of <paramref name="state"/> once its files are pinned, or null for a single-source job.</summary>
    public static MixturePlan? Of(JobState state)
    {
        var spec = state.Spec!;
        if (!spec.IsMixture || state.MixturePartitions is not { } counts)
        {
            return null;
        }

        var sources = new List<MixturePlanSource>(counts.Count);
        var first = 0;
        long records = 0;
        for (var s = 0; s < counts.Count; s++)
        {
            sources.Add(new MixturePlanSource(spec.Sources![s].Name, spec.Sources[s].Source!, spec.Sources[s].Weight, first, counts[s]));
            records += state.Files.Skip(first).Take(counts[s]).Sum(f => f?.RecordCount ?? 0);
            first += counts[s];
        }

        return new MixturePlan(sources, spec.SamplesPerEpoch ?? records);
    }
}
