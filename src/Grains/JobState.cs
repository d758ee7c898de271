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
}

/// <summary>The persisted state of a splitter.</summary>
[GenerateSerializer, Alias("shards.SplitterState")]
public sealed class SplitterState
{
    /// <summary>The partition's file as described, once described.</summary>
    [Id(0)] public PinnedFile? File { get; set; }

    /// <summary>Whether the job acknowledged the partition's shards: the offset split up to is then the record count.</summary>
    [Id(1)] public bool Acknowledged { get; set; }

    /// <summary>The partition index.</summary>
    [Id(2)] public int Partition { get; set; }

    /// <summary>Live partitions: what the splitter watches, so it resumes by itself after a restart.</summary>
    [Id(3)] public LiveSplitterAssignment? Live { get; set; }

    /// <summary>Live partitions: the offset split up to, as the job last acknowledged it.</summary>
    [Id(4)] public long SplitUpTo { get; set; }
}

/// <summary>What the splitter of a live partition watches.</summary>
[GenerateSerializer, Alias("shards.LiveSplitterAssignment")]
public sealed class LiveSplitterAssignment
{
    /// <summary>The job, its partition, the partition's locator and the source.</summary>
    [Id(0)] public SplitterAssignment Assignment { get; set; } = null!;

    /// <summary>Records of a full shard.</summary>
    [Id(1)] public long ShardSize { get; set; }

    /// <summary>The longest wait before a partial shard is cut.</summary>
    [Id(2)] public int MaxWaitMs { get; set; }
}
