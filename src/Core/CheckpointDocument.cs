namespace OrleansShards.Core;

/// <summary>
/// A checkpoint of a static job (format <see cref="Checkpoints.Format"/>, version <see cref="Checkpoints.Version"/>):
/// the todo cursor and re-queued shards, the leases in flight, a done summary, retries, dead letters and every
/// splitter's offsets, with the source files it was cut from. Shards are named by task id
/// (<c>e{epoch}.p{partition}.{start}-{end}</c>), so a document reads without the catalogue and checks itself
/// against it on import. Only whitelisted fields are copied into it: never a secret.
/// </summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointDocument")]
public sealed record CheckpointDocument
{
    /// <summary>Always <c>orleans-shards-checkpoint</c>.</summary>
    [Id(0)] public string? Format { get; init; }

    /// <summary>The version of the document format; this server reads <see cref="Checkpoints.Version"/>.</summary>
    [Id(1)] public int? Version { get; init; }

    /// <summary>When the checkpoint was taken.</summary>
    [Id(2)] public DateTimeOffset ExportedAt { get; init; }

    /// <summary>The id of the job exported; an import uses it unless told another.</summary>
    [Id(3)] public string? JobId { get; init; }

    /// <summary>When the job was created.</summary>
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary><c>running</c>, <c>paused</c> or <c>cancelled</c>.</summary>
    [Id(5)] public string? Lifecycle { get; init; }

    /// <summary>The normalised spec of the job.</summary>
    [Id(6)] public CheckpointSpec? Spec { get; init; }

    /// <summary>The source files, one a partition, in partition order.</summary>
    [Id(7)] public IReadOnlyList<CheckpointFile>? Files { get; init; }

    /// <summary>The number of shards of an epoch (a check of the files and the shard size).</summary>
    [Id(8)] public long Shards { get; init; }

    /// <summary>The current epoch, from 0.</summary>
    [Id(9)] public int Epoch { get; init; }

    /// <summary>Whether every epoch has ended.</summary>
    [Id(10)] public bool Completed { get; init; }

    /// <summary>The sequence number of the next lease (lease ids are <c>L{n}</c>).</summary>
    [Id(11)] public long NextLeaseSequence { get; init; }

    /// <summary>What is still to do in the current epoch.</summary>
    [Id(12)] public CheckpointTodo? Todo { get; init; }

    /// <summary>The leases in flight; an import re-queues their shards.</summary>
    [Id(13)] public IReadOnlyList<CheckpointLease>? Doing { get; init; }

    /// <summary>What is done.</summary>
    [Id(14)] public CheckpointDone? Done { get; init; }

    /// <summary>Shards of this and the previous epoch leased more than once.</summary>
    [Id(15)] public IReadOnlyList<CheckpointRetry>? Retries { get; init; }

    /// <summary>Shards given up on after <c>maxAttempts</c> failures.</summary>
    [Id(16)] public IReadOnlyList<CheckpointDeadLetter>? DeadLetters { get; init; }

    /// <summary>Every splitter's offsets, one a partition.</summary>
    [Id(17)] public IReadOnlyList<CheckpointSplitter>? Splitters { get; init; }

    /// <summary>Live jobs: each partition's committed offset, offset split up to, and the shards between them that are not in flight.</summary>
    [Id(18)] public IReadOnlyList<CheckpointLivePartition>? Live { get; init; }

    /// <summary>The job's training runs (docs/runs.md); absent in documents of jobs without runs and of older servers.</summary>
    [Id(19)] public IReadOnlyList<CheckpointRun>? Runs { get; init; }
}
