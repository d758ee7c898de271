using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>The lifecycle state of a job as clients see it.</summary>
public static class JobStates
{
    /// <summary>Leases are handed out.</summary>
    public const string Running = "running";

    /// <summary>Every epoch ended and no shard was dead-lettered.</summary>
    public const string Completed = "completed";

    /// <summary>Every epoch ended and some shards were dead-lettered.</summary>
    public const string Failed = "failed";

    /// <summary>No new leases; in-flight ones may finish.</summary>
    public const string Paused = "paused";

    /// <summary>Leases refused; state kept.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>One partition of a job as status shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record PartitionStatus(
    [property: Id(0)] int Partition,
    [property: Id(1)] string Path,
    [property: Id(2)] long? Records,
    [property: Id(3)] long? Shards,
    [property: Id(4)] bool Acknowledged)
{
    /// <summary>Live partitions: the offset the next record appended gets.</summary>
    [Id(5)] public long? HighWatermark { get; init; }

    /// <summary>Live partitions: the end of the last shard cut.</summary>
    [Id(6)] public long? SplitUpTo { get; init; }

    /// <summary>Live partitions: the end of the contiguous prefix of done shards.</summary>
    [Id(7)] public long? Committed { get; init; }

    /// <summary>Live partitions: records appended and not yet committed (high-water mark minus committed).</summary>
    [Id(8)] public long? Lag { get; init; }
}

/// <summary>Counters of one epoch.</summary>
[GenerateSerializer, Immutable]
public sealed record EpochStatus([property: Id(0)] int Epoch, [property: Id(1)] long ShardsDone, [property: Id(2)] long RecordsDelivered, [property: Id(3)] long LeasesExpired, [property: Id(4)] long AttemptsFailed);

/// <summary>A dead-lettered shard with its last error.</summary>
[GenerateSerializer, Immutable]
public sealed record DeadLetterStatus([property: Id(0)] string TaskId, [property: Id(1)] int Epoch, [property: Id(2)] ShardRange Shard, [property: Id(3)] int Attempts, [property: Id(4)] string LastError);

/// <summary>Records counters of a job.</summary>
[GenerateSerializer, Immutable]
public sealed record RecordCounts([property: Id(0)] long Delivered, [property: Id(1)] long? Total);

/// <summary>The status of a job (HTTP-API.md, <c>GET /v1/jobs/{id}</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record JobStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] string State,
    [property: Id(2)] int Epoch,
    [property: Id(3)] int Epochs,
    [property: Id(4)] ShardProgress Shards,
    [property: Id(5)] RecordCounts Records,
    [property: Id(6)] IReadOnlyList<PartitionStatus> Partitions,
    [property: Id(7)] IReadOnlyList<EpochStatus> EpochHistory,
    [property: Id(8)] IReadOnlyList<DeadLetterStatus> DeadLetters,
    [property: Id(9)] JobSpec Spec,
    [property: Id(10)] DateTimeOffset CreatedAt);

/// <summary>How a create call ended.</summary>
/// <param name="Created"><see langword="true"/> when the job was created now, <see langword="false"/> when the same spec existed.</param>
/// <param name="Status">The job's status.</param>
[GenerateSerializer, Immutable]
public sealed record CreateJobResult([property: Id(0)] bool Created, [property: Id(1)] JobStatus Status);

/// <summary>A request for leases.</summary>
[GenerateSerializer, Immutable]
public sealed record LeaseRequest([property: Id(0)] string WorkerId, [property: Id(1)] int MaxTasks, [property: Id(2)] string? RequestId = null);

/// <summary>A lease handed out.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskLease(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string LeaseId,
    [property: Id(2)] int Epoch,
    [property: Id(3)] int Attempt,
    [property: Id(4)] ShardRange Shard,
    [property: Id(5)] DateTimeOffset ExpiresAt);

/// <summary>The answer to a lease request; empty leases with <see cref="RetryAfterMs"/> when none is available now.</summary>
[GenerateSerializer, Immutable]
public sealed record LeaseBatch([property: Id(0)] IReadOnlyList<TaskLease> Leases, [property: Id(1)] string State, [property: Id(2)] int? RetryAfterMs);

/// <summary>A worker's report on a lease.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskReport(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string LeaseId,
    [property: Id(2)] string WorkerId,
    [property: Id(3)] bool Done,
    [property: Id(4)] string? Error = null);

/// <summary>The answer to a report.</summary>
/// <param name="Accepted">The report changed the job.</param>
/// <param name="Duplicate">The same report arrived before; nothing changed.</param>
[GenerateSerializer, Immutable]
public sealed record ReportResponse([property: Id(0)] bool Accepted, [property: Id(1)] bool Duplicate);

/// <summary>The outcome of one report of a batch.</summary>
/// <param name="TaskId">The task reported on.</param>
/// <param name="LeaseId">The lease named.</param>
/// <param name="Status">As the single report's HTTP status would be: 200 recorded or duplicate, 404 unknown task, 409 stale lease.</param>
/// <param name="Accepted">The report changed the job.</param>
/// <param name="Duplicate">The same report arrived before; nothing changed.</param>
/// <param name="Detail">Why, when it was not recorded.</param>
[GenerateSerializer, Immutable]
public sealed record ReportOutcome(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string LeaseId,
    [property: Id(2)] int Status,
    [property: Id(3)] bool Accepted,
    [property: Id(4)] bool Duplicate,
    [property: Id(5)] string? Detail = null);

/// <summary>A renewed lease; <see cref="ExpiresAt"/> is null when the worker no longer holds it.</summary>
[GenerateSerializer, Immutable]
public sealed record LeaseRenewal([property: Id(0)] string LeaseId, [property: Id(1)] DateTimeOffset? ExpiresAt);

/// <summary>A file of a job's source, as pinned when the job was created.</summary>
[GenerateSerializer, Immutable]
public sealed record PinnedFile(
    [property: Id(0)] string Path,
    [property: Id(1)] long RecordCount,
    [property: Id(2)] long Length,
    [property: Id(3)] long LastWriteTimeUtcTicks,
    [property: Id(4)] ulong ContentHash);

/// <summary>What a reader needs to read any shard of a job, outside the job grain.</summary>
[GenerateSerializer, Immutable]
public sealed record JobReadPlan(
    [property: Id(0)] SourceSpec Source,
    [property: Id(1)] IReadOnlyList<PinnedFile> Files,
    [property: Id(2)] long ShardSize,
    [property: Id(3)] int CurrentEpoch,
    [property: Id(4)] int Epochs,
    [property: Id(5)] bool Shuffle,
    [property: Id(6)] long Seed,
    [property: Id(7)] bool Live = false);

/// <summary>
/// The job: its spec, its task book and its counters. Keyed by job id. Hands out leases, takes
/// reports, re-queues expired or failed shards and advances epochs.
/// </summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job from <paramref name="spec"/>; the same spec again returns the existing job.</summary>
    /// <exception cref="ShardsException">Invalid spec (names the field), a path outside the data roots, or the id taken by another spec.</exception>
    Task<CreateJobResult> Create(JobSpec spec);

    /// <summary>The job's status.</summary>
    Task<JobStatus> GetStatus();

    /// <summary>Leases up to <see cref="LeaseRequest.MaxTasks"/> shards.</summary>
    Task<LeaseBatch> Lease(LeaseRequest request);

    /// <summary>Records a report; a stale lease raises a conflict and changes nothing.</summary>
    Task<ReportResponse> Report(TaskReport report);

    /// <summary>
    /// Records several reports with one durable write: a worker that leased a batch reports it at
    /// once. Each report gets its own outcome; one stale or unknown report does not refuse the others.
    /// </summary>
    Task<IReadOnlyList<ReportOutcome>> ReportMany(IReadOnlyList<TaskReport> reports);

    /// <summary>Extends leases.</summary>
    Task<IReadOnlyList<LeaseRenewal>> Heartbeat(string workerId, IReadOnlyList<string> leaseIds);

    /// <summary>Ends leases now and re-queues their shards.</summary>
    Task<int> Release(string workerId, IReadOnlyList<string> leaseIds);

    /// <summary>What a reader needs to read the job's shards.</summary>
    Task<JobReadPlan> GetReadPlan();

    /// <summary>Stops handing out leases; in-flight leases may finish.</summary>
    Task<JobStatus> Pause();

    /// <summary>Hands out leases again after a pause.</summary>
    Task<JobStatus> Resume();

    /// <summary>Refuses leases from now on; state is kept.</summary>
    Task<JobStatus> Cancel();

    /// <summary>Removes the job's and its splitters' stored state.</summary>
    Task Delete();

    /// <summary>
    /// Called by a splitter: the partition's file has <paramref name="file"/>'s records. The job
    /// records it durably before returning, so the splitter may then persist its own offset.
    /// </summary>
    Task AcknowledgePartition(int partition, PinnedFile file);

    /// <summary>The file the job acknowledged for <paramref name="partition"/>, or null: a splitter that lost its own write catches up from it.</summary>
    Task<PinnedFile?> GetAcknowledgedPartition(int partition);

    /// <summary>
    /// Called by the splitter of a live partition: the shards it cut, in offset order, and the
    /// partition's bounds. The job holds them durably before it returns the offset split up to,
    /// which the splitter then adopts; shards the job holds already are ignored, so an offer
    /// repeated after a crash changes nothing. An empty offer asks for the offset only.
    /// </summary>
    /// <exception cref="ShardsException">The shards leave a gap or overlap (conflict), or the job is not live (invalid).</exception>
    Task<long> OfferShards(int partition, IReadOnlyList<OffsetRange> shards, PartitionBounds? bounds);

    /// <summary>The leases in flight (task, lease, worker, attempt, expiry), after expiring those due; O(in flight), no splitter is asked.</summary>
    Task<IReadOnlyList<CheckpointLease>> GetLeases();

    /// <summary>
    /// Called by the splitter of a live partition whose locator names what it holds (a watched object prefix): the
    /// partition grew from <paramref name="from"/> to <paramref name="to"/>. The job stores it durably and answers the
    /// locator it holds, which the splitter then reads from (a stale splitter learns the newer one).
    /// </summary>
    Task<string> GrowPartition(int partition, string from, string to);

    /// <summary>Makes sure a live job's splitters run (after a restart nothing else calls them); a static job ignores it.</summary>
    Task Wake();

    /// <summary>
    /// The job's checkpoint: the todo cursor and re-queued shards, the leases in flight, a done summary,
    /// retries, dead letters and every splitter's offsets, with the source files; never a secret.
    /// </summary>
    /// <exception cref="ShardsException">The job does not exist (not found) or is still describing its source (conflict).</exception>
    Task<CheckpointDocument> ExportCheckpoint();

    /// <summary>
    /// Creates this job from a checkpoint taken elsewhere: its files must match the files under this
    /// server's data roots (records, length, content hash); the leases that were in flight are re-queued.
    /// </summary>
    /// <exception cref="ShardsException">The job exists (conflict), or the document is of an unknown version, does not hold together or does not match its source (invalid; names the place).</exception>
    Task<CreateJobResult> ImportCheckpoint(CheckpointDocument document);
}

/// <summary>What a splitter is asked to cut.</summary>
[GenerateSerializer, Immutable]
public sealed record SplitterAssignment([property: Id(0)] string JobId, [property: Id(1)] int Partition, [property: Id(2)] string Path, [property: Id(3)] SourceSpec Source);

/// <summary>A splitter's offsets.</summary>
[GenerateSerializer, Immutable]
public sealed record SplitterStatus([property: Id(0)] int Partition, [property: Id(1)] string? Path, [property: Id(2)] long SplitUpTo, [property: Id(3)] bool Acknowledged);

/// <summary>
/// One partition of a job, keyed <c>{jobId}/{partition}</c>: describes the partition, offers its
/// shards to the job and persists its offset only after the job acknowledged them.
/// </summary>
public interface ISplitterGrain : IGrainWithStringKey
{
    /// <summary>Describes the partition and offers it to the job, unless the job acknowledged it already.</summary>
    Task<SplitterStatus> Start(SplitterAssignment assignment);

    /// <summary>
    /// Watches a live partition: cuts a shard when <paramref name="shardSize"/> records have arrived,
    /// or when <paramref name="maxWaitMs"/> passed with at least one, and offers it to the job. Idempotent.
    /// </summary>
    Task<SplitterStatus> StartLive(SplitterAssignment assignment, long shardSize, int maxWaitMs);

    /// <summary>The splitter's offsets.</summary>
    Task<SplitterStatus> GetStatus();

    /// <summary>Removes the splitter's stored state.</summary>
    Task Delete();

    /// <summary>Takes on the state of an imported job's partition: <paramref name="file"/> described and acknowledged.</summary>
    Task<SplitterStatus> Adopt(SplitterAssignment assignment, PinnedFile file);
}

/// <summary>Records handed to a thin worker: JSON of one page of one task.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerBatch(
    [property: Id(0)] string? TaskId,
    [property: Id(1)] int Epoch,
    [property: Id(2)] long Offset,
    [property: Id(3)] int Count,
    [property: Id(4)] byte[] RecordsJson,
    [property: Id(5)] string JobState);

/// <summary>
/// A thin worker inside the silo, keyed by worker id: leases tasks of a job and reads their
/// records for callers that want records, not leases. A task is reported done when the caller
/// asks for the batch after its last one, so a caller that vanishes leaves the lease to expire.
/// </summary>
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>The next batch of at most <paramref name="maxRecords"/> records of <paramref name="jobId"/>; empty when none is available now.</summary>
    Task<WorkerBatch> Next(string jobId, int maxRecords);
}

/// <summary>The set of job ids of the cluster, so jobs can be listed. Keyed <see cref="Key"/>.</summary>
public interface IJobRegistryGrain : IGrainWithStringKey
{
    /// <summary>The key of the one registry.</summary>
    public const string Key = "jobs";

    /// <summary>Adds a job id.</summary>
    Task Add(string jobId);

    /// <summary>Removes a job id.</summary>
    Task Remove(string jobId);

    /// <summary>Every job id, in ordinal order.</summary>
    Task<IReadOnlyList<string>> List();
}
