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

/// <summary>One partition of a live job in a checkpoint. Every offset of <c>[Committed, SplitUpTo)</c> lies in exactly one of the lists or in a lease of <c>doing</c>.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointLivePartition")]
public sealed record CheckpointLivePartition
{
    /// <summary>The partition index.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>The partition as users name it (<c>topic/partition</c>).</summary>
    [Id(1)] public string? Path { get; init; }

    /// <summary>The end of the contiguous prefix of done shards.</summary>
    [Id(2)] public long Committed { get; init; }

    /// <summary>The end of the last shard cut.</summary>
    [Id(3)] public long SplitUpTo { get; init; }

    /// <summary>Shards cut and never leased, as runs cut into pieces of the job's shard size.</summary>
    [Id(4)] public IReadOnlyList<CheckpointRange>? Fresh { get; init; }

    /// <summary>Shards waiting to be leased again.</summary>
    [Id(5)] public IReadOnlyList<CheckpointRange>? Requeued { get; init; }

    /// <summary>Shards done (or dead-lettered) above the committed offset.</summary>
    [Id(6)] public IReadOnlyList<CheckpointRange>? DoneAhead { get; init; }
}

/// <summary>A range of offsets <c>[Start, End)</c> in a checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointRange")]
public sealed record CheckpointRange
{
    /// <summary>The first offset.</summary>
    [Id(0)] public long Start { get; init; }

    /// <summary>One past the last offset.</summary>
    [Id(1)] public long End { get; init; }
}

/// <summary>The spec of a checkpointed job: the whitelisted fields of <see cref="JobSpec"/>, without the id.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointSpec")]
public sealed record CheckpointSpec
{
    /// <summary>The data source.</summary>
    [Id(0)] public CheckpointSource? Source { get; init; }

    /// <summary>Records per shard.</summary>
    [Id(1)] public long ShardSize { get; init; }

    /// <summary>Passes over the data.</summary>
    [Id(2)] public int Epochs { get; init; }

    /// <summary>Whether shards come in a seeded random order.</summary>
    [Id(3)] public bool Shuffle { get; init; }

    /// <summary>The shuffle seed.</summary>
    [Id(4)] public long Seed { get; init; }

    /// <summary>How long a lease lasts without a heartbeat.</summary>
    [Id(5)] public int LeaseTimeoutSeconds { get; init; }

    /// <summary>Failed or expired attempts after which a shard is dead-lettered.</summary>
    [Id(6)] public int MaxAttempts { get; init; }

    /// <summary><c>strict</c> or <c>batched</c>.</summary>
    [Id(7)] public string? Durability { get; init; }

    /// <summary>Batched mode: the longest time between state writes.</summary>
    [Id(8)] public int? FlushIntervalMs { get; init; }

    /// <summary>Live sources: the longest wait before a partial shard is cut.</summary>
    [Id(9)] public int? MaxWaitMs { get; init; }

    /// <summary>Live sources: at most one lease per partition at a time.</summary>
    [Id(10)] public bool Ordered { get; init; }
}

/// <summary>The source of a checkpointed job: the whitelisted fields of <see cref="SourceSpec"/>.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointSource")]
public sealed record CheckpointSource
{
    /// <summary>The source kind.</summary>
    [Id(0)] public string? Kind { get; init; }

    /// <summary>The paths or patterns as the job named them.</summary>
    [Id(1)] public IReadOnlyList<string>? Paths { get; init; }

    /// <summary>CSV: whether the first row names the columns.</summary>
    [Id(2)] public bool? Header { get; init; }

    /// <summary>CSV: the field delimiter.</summary>
    [Id(3)] public string? Delimiter { get; init; }

    /// <summary>sqlite: the database file as the job named it.</summary>
    [Id(4)] public string? Path { get; init; }

    /// <summary>SQL kinds: the table.</summary>
    [Id(5)] public string? Table { get; init; }

    /// <summary>SQL kinds: the key column.</summary>
    [Id(6)] public string? KeyColumn { get; init; }

    /// <summary>postgres and object kinds: the <em>name</em> of the operator's connection (never its connection string or secret).</summary>
    [Id(7)] public string? Connection { get; init; }

    /// <summary>s3: the bucket.</summary>
    [Id(8)] public string? Bucket { get; init; }

    /// <summary>azureblob: the container.</summary>
    [Id(9)] public string? Container { get; init; }

    /// <summary>Object kinds: the key prefix.</summary>
    [Id(10)] public string? Prefix { get; init; }

    /// <summary>Object kinds: the transformer.</summary>
    [Id(11)] public string? Transformer { get; init; }

    /// <summary>Object kinds: the distribution strategy.</summary>
    [Id(12)] public string? Distribution { get; init; }

    /// <summary>Object kinds: the number of partitions of the hash distribution.</summary>
    [Id(13)] public int? Partitions { get; init; }

    /// <summary>Object kinds: the pattern of the pattern distribution.</summary>
    [Id(14)] public string? PartitionPattern { get; init; }

    /// <summary>topic: the topic of the built-in log.</summary>
    [Id(15)] public string? Topic { get; init; }

    /// <summary>redisstreams: the stream keys.</summary>
    [Id(16)] public IReadOnlyList<string>? Keys { get; init; }

    /// <summary>Object kinds: whether objects added later become new shards.</summary>
    [Id(17)] public bool? Watch { get; init; }
}

/// <summary>A source file (a partition) as the job pinned it.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointFile")]
public sealed record CheckpointFile
{
    /// <summary>The partition index.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>The path as users name it: relative to the data directory when inside it.</summary>
    [Id(1)] public string? Path { get; init; }

    /// <summary>The number of records.</summary>
    [Id(2)] public long Records { get; init; }

    /// <summary>The size in bytes.</summary>
    [Id(3)] public long Length { get; init; }

    /// <summary>The modification time, UTC ticks (informative: it may differ on another machine).</summary>
    [Id(4)] public long LastWriteTimeUtcTicks { get; init; }

    /// <summary>XxHash3 of the file's bytes, 16 hexadecimal digits.</summary>
    [Id(5)] public string? ContentHash { get; init; }
}

/// <summary>What is still to do in the current epoch: the positions <c>[cursor, shards)</c> of the epoch's order and the re-queued shards.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointTodo")]
public sealed record CheckpointTodo
{
    /// <summary>The next position of the epoch's order to hand out.</summary>
    [Id(0)] public long Cursor { get; init; }

    /// <summary>Shards waiting to be leased again, oldest first.</summary>
    [Id(1)] public IReadOnlyList<string>? Requeued { get; init; }
}

/// <summary>A lease in flight.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointLease")]
public sealed record CheckpointLease
{
    /// <summary>The task.</summary>
    [Id(0)] public string? TaskId { get; init; }

    /// <summary>The lease id.</summary>
    [Id(1)] public string? LeaseId { get; init; }

    /// <summary>The worker holding it.</summary>
    [Id(2)] public string? WorkerId { get; init; }

    /// <summary>Which attempt at the shard the lease is, from 1.</summary>
    [Id(3)] public int Attempt { get; init; }

    /// <summary>When the lease expires unless renewed.</summary>
    [Id(4)] public DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>What is done: the current epoch's count, totals, and counters of the latest epochs.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointDone")]
public sealed record CheckpointDone
{
    /// <summary>Shards done in the current epoch (derived: positions below the cursor not in flight, re-queued or dead-lettered).</summary>
    [Id(0)] public long Shards { get; init; }

    /// <summary>Shards reported done, over every epoch.</summary>
    [Id(1)] public long TotalShards { get; init; }

    /// <summary>Records of the shards reported done, over every epoch.</summary>
    [Id(2)] public long TotalRecords { get; init; }

    /// <summary>Counters of the latest epochs, oldest first, the current one last.</summary>
    [Id(3)] public IReadOnlyList<CheckpointEpoch>? Epochs { get; init; }
}

/// <summary>Counters of one epoch.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointEpoch")]
public sealed record CheckpointEpoch
{
    /// <summary>The epoch.</summary>
    [Id(0)] public int Epoch { get; init; }

    /// <summary>Shards reported done.</summary>
    [Id(1)] public long ShardsDone { get; init; }

    /// <summary>Records of the shards reported done.</summary>
    [Id(2)] public long RecordsDelivered { get; init; }

    /// <summary>Leases that expired.</summary>
    [Id(3)] public long LeasesExpired { get; init; }

    /// <summary>Attempts reported failed.</summary>
    [Id(4)] public long AttemptsFailed { get; init; }
}

/// <summary>A shard leased more than once in its epoch.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointRetry")]
public sealed record CheckpointRetry
{
    /// <summary>The task.</summary>
    [Id(0)] public string? TaskId { get; init; }

    /// <summary>Failed or expired attempts so far.</summary>
    [Id(1)] public int FailedAttempts { get; init; }

    /// <summary>Leases handed out for the shard so far, released ones included.</summary>
    [Id(2)] public int Leases { get; init; }

    /// <summary>The last error, if any.</summary>
    [Id(3)] public string? LastError { get; init; }

    /// <summary>The lease whose report completed the shard, once done.</summary>
    [Id(4)] public string? CompletedBy { get; init; }
}

/// <summary>A shard given up on.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointDeadLetter")]
public sealed record CheckpointDeadLetter
{
    /// <summary>The task.</summary>
    [Id(0)] public string? TaskId { get; init; }

    /// <summary>How many attempts failed.</summary>
    [Id(1)] public int Attempts { get; init; }

    /// <summary>The last error.</summary>
    [Id(2)] public string? LastError { get; init; }
}

/// <summary>A splitter's offsets: how far its partition is cut into shards the job acknowledged.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointSplitter")]
public sealed record CheckpointSplitter
{
    /// <summary>The partition.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>The partition's file, as users name it.</summary>
    [Id(1)] public string? Path { get; init; }

    /// <summary>The offset the partition is cut up to.</summary>
    [Id(2)] public long SplitUpTo { get; init; }

    /// <summary>Whether the job acknowledged the partition's shards.</summary>
    [Id(3)] public bool Acknowledged { get; init; }
}

/// <summary>A checkpoint that cannot be read or does not hold together; names the place and the reason.</summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException(string field, string message)
        : base(message) => Field = field;

    /// <summary>Creates an exception with a message.</summary>
    public CheckpointException()
        : this("checkpoint", "the checkpoint is invalid")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public CheckpointException(string message)
        : this("checkpoint", message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public CheckpointException(string message, Exception innerException)
        : base(message, innerException) => Field = "checkpoint";

    /// <summary>The place at fault, for example <c>todo.requeued[2]</c>.</summary>
    public string Field { get; }
}

/// <summary>A checkpoint read back: what a job needs to continue from it.</summary>
/// <param name="Spec">The normalised spec, without an id.</param>
/// <param name="Catalog">The shard catalogue of the checkpoint's files.</param>
/// <param name="Book">The task book state, with the leases that were in flight re-queued.</param>
/// <param name="RequeuedFromDoing">The shards (global indexes) that were in flight and are now re-queued.</param>
public sealed record CheckpointRestore(JobSpec Spec, ShardCatalog Catalog, TaskBookState Book, IReadOnlyList<long> RequeuedFromDoing);
