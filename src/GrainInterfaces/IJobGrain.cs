using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>
/// The job: its spec, its task book and its counters. Keyed by job id. Hands out leases, takes
/// reports, re-queues expired or failed shards and advances epochs.
/// </summary>
[Alias("shards.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job from <paramref name="spec"/>; the same spec again returns the existing job.</summary>
    /// <exception cref="ShardsException">Invalid spec (names the field), a path outside the data roots, or the id taken by another spec.</exception>
    [Alias("Create")]
    Task<CreateJobResult> Create(JobSpec spec);

    /// <summary>The job's status.</summary>
    [Alias("GetStatus")]
    Task<JobStatus> GetStatus();

    /// <summary>Leases up to <see cref="LeaseRequest.MaxTasks"/> shards.</summary>
    [Alias("Lease")]
    Task<LeaseBatch> Lease(LeaseRequest request);

    /// <summary>Records a report; a stale lease raises a conflict and changes nothing.</summary>
    [Alias("Report")]
    Task<ReportResponse> Report(TaskReport report);

    /// <summary>
    /// Records several reports with one durable write: a worker that leased a batch reports it at
    /// once. Each report gets its own outcome; one stale or unknown report does not refuse the others.
    /// </summary>
    [Alias("ReportMany")]
    Task<IReadOnlyList<ReportVerdict>> ReportMany(IReadOnlyList<TaskReport> reports);

    /// <summary>Extends leases.</summary>
    [Alias("Heartbeat")]
    Task<IReadOnlyList<LeaseRenewal>> Heartbeat(string workerId, IReadOnlyList<string> leaseIds);

    /// <summary>Ends leases now and re-queues their shards.</summary>
    [Alias("Release")]
    Task<int> Release(string workerId, IReadOnlyList<string> leaseIds);

    /// <summary>What a reader needs to read the job's shards.</summary>
    [Alias("GetReadPlan")]
    Task<JobReadPlan> GetReadPlan();

    /// <summary>Stops handing out leases; in-flight leases may finish.</summary>
    [Alias("Pause")]
    Task<JobStatus> Pause();

    /// <summary>Hands out leases again after a pause.</summary>
    [Alias("Resume")]
    Task<JobStatus> Resume();

    /// <summary>Refuses leases from now on; state is kept.</summary>
    [Alias("Cancel")]
    Task<JobStatus> Cancel();

    /// <summary>
    /// Re-queues dead-lettered tasks of the current epoch with a fresh count of attempts (all of them when
    /// <paramref name="taskIds"/> is null); durable before it answers. A failed static job runs again until they are done.
    /// </summary>
    [Alias("RetryDeadLetters")]
    Task<DeadLetterRetry> RetryDeadLetters(IReadOnlyList<string>? taskIds);

    /// <summary>Removes the job's and its splitters' stored state.</summary>
    [Alias("Delete")]
    Task Delete();

    /// <summary>The leases in flight (task, lease, worker, attempt, expiry), after expiring those due; O(in flight), no splitter is asked.</summary>
    [Alias("GetLeases")]
    Task<IReadOnlyList<CheckpointLease>> GetLeases();

    /// <summary>Makes sure a live job's splitters run (after a restart nothing else calls them); a static job ignores it.</summary>
    [Alias("Wake")]
    Task Wake();

    /// <summary>
    /// The job's checkpoint: the todo cursor and re-queued shards, the leases in flight, a done summary,
    /// retries, dead letters and every splitter's offsets, with the source files; never a secret.
    /// </summary>
    /// <exception cref="ShardsException">The job does not exist (not found) or is still describing its source (conflict).</exception>
    [Alias("ExportCheckpoint")]
    Task<CheckpointDocument> ExportCheckpoint();

    /// <summary>
    /// Creates this job from a checkpoint taken elsewhere: its files must match the files under this
    /// server's data roots (records, length, content hash); the leases that were in flight are re-queued.
    /// </summary>
    /// <exception cref="ShardsException">The job exists (conflict), or the document is of an unknown version, does not hold together or does not match its source (invalid; names the place).</exception>
    [Alias("ImportCheckpoint")]
    Task<CreateJobResult> ImportCheckpoint(CheckpointDocument document);
}
