using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>The persisted state of a job. Its size grows with partitions and what is in flight or failed, never with shards.</summary>
[GenerateSerializer, Alias("shards.JobState")]
public sealed class JobState
{
    /// <summary>The normalised spec; null until the job is created.</summary>
    [Id(0)] public JobSpec? Spec { get; set; }

    /// <summary>When the job was created.</summary>
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The absolute path of each partition's file.</summary>
    [Id(2)] public List<string> Paths { get; set; } = [];

    /// <summary>Each partition's pinned file, once its splitter offered it; null before.</summary>
    [Id(3)] public List<PinnedFile?> Files { get; set; } = [];

    /// <summary>The task book; meaningful once every partition is acknowledged.</summary>
    [Id(4)] public TaskBookState Book { get; set; } = new();

    /// <summary>running, paused or cancelled.</summary>
    [Id(5)] public string Lifecycle { get; set; } = JobStates.Running;

    /// <summary>The live task book of a job on a live source; null for a static job.</summary>
    [Id(6)] public LiveBookState? Live { get; set; }

    /// <summary>A mixture job (issue 15): the number of partitions of each source, in the spec's order; null otherwise.</summary>
    [Id(20)] public List<int>? MixturePartitions { get; set; }
}
