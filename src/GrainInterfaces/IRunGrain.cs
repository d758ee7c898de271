using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>
/// A synchronous training run over a job (issue 14), keyed <c>{jobId}/{run}</c> (<see cref="KeyOf"/>): its batch
/// size, its commits by checkpoint name and its resume point, in its own stored state (never in the job's).
/// Batches are read outside the grain, from <see cref="GetBatchPlan"/>.
/// </summary>
[Alias("OrleansShards.IRunGrain")]
public interface IRunGrain : IGrainWithStringKey
{
    /// <summary>The grain key of run <paramref name="run"/> of job <paramref name="jobId"/> (job ids and run names hold no '/').</summary>
    static string KeyOf(string jobId, string run) => jobId + "/" + run;

    /// <summary>Creates the run; the same spec again returns it unchanged.</summary>
    /// <exception cref="ShardsException">Invalid spec, unknown job (not found), another spec under this name (conflict).</exception>
    [Alias("Create")]
    Task<CreateRunResult> Create(RunSpec spec);

    /// <summary>The run's status.</summary>
    /// <exception cref="ShardsException">Unknown run (not found).</exception>
    [Alias("GetStatus")]
    Task<RunStatus> GetStatus();

    /// <summary>What a silo needs to read the run's batches.</summary>
    /// <exception cref="ShardsException">Unknown run (not found).</exception>
    [Alias("GetBatchPlan")]
    Task<RunBatchPlan> GetBatchPlan();

    /// <summary>Commits (<paramref name="epoch"/>, <paramref name="step"/>); durable before it returns.</summary>
    /// <exception cref="ShardsException">Out of range (invalid), backwards or a checkpoint name in use (conflict), unknown run (not found).</exception>
    [Alias("Commit")]
    Task<RunStatus> Commit(int epoch, long step, string? checkpoint);

    /// <summary>Rewinds to the kept commit named <paramref name="checkpoint"/>, or to the kept commit of (<paramref name="epoch"/>, <paramref name="step"/>).</summary>
    /// <exception cref="ShardsException">No such kept commit (not found), unknown run (not found).</exception>
    [Alias("Rewind")]
    Task<RunStatus> Rewind(string? checkpoint, int? epoch, long? step);

    /// <summary>The run's spec and kept commits, for a checkpoint document; null when the run does not exist.</summary>
    [Alias("Export")]
    Task<CheckpointRun?> Export();

    /// <summary>Creates the run from a checkpoint document's entry; the run must not exist.</summary>
    [Alias("Import")]
    Task<RunStatus> Import(CheckpointRun checkpoint);

    /// <summary>Removes the run's stored state.</summary>
    /// <exception cref="ShardsException">Unknown run (not found).</exception>
    [Alias("Delete")]
    Task Delete();

    /// <summary>
    /// Live runs: seals the steps up to <paramref name="step"/> while the partitions hold enough records, durably
    /// before it returns, and answers the step's ranges when it is sealed (now or before).
    /// </summary>
    /// <exception cref="ShardsException">A static run or a step out of range (invalid), a step whose seal was dropped (conflict), unknown run (not found).</exception>
    [Alias("SealLiveStep")]
    Task<LiveStepPlan> SealLiveStep(long step);

    /// <summary>
    /// Live runs: per partition, the lowest offset the run may still read (the start of the step after its oldest
    /// kept commit); retention keeps everything from it. Null for a static run or a run that does not exist.
    /// </summary>
    [Alias("GetRetentionFloor")]
    Task<IReadOnlyList<long>?> GetRetentionFloor();
}
