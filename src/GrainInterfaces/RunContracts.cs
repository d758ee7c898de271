using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>What a client asks for when it creates a training run (issue 14).</summary>
/// <param name="GlobalBatchSize">G, the records of a step over all ranks.</param>
/// <param name="DropRemainder">Whether the last partial step of an epoch is left out (default) or filled from the start of the epoch's order.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunSpec")]
public sealed record RunSpec([property: Id(0)] int GlobalBatchSize, [property: Id(1)] bool DropRemainder = true)
{
    /// <summary>The largest global batch size a run may ask for (bounded memory per step).</summary>
    public const int MaxGlobalBatchSize = 1 << 20;

    /// <summary>The first problem of the spec as (field, reason), or <see langword="null"/>.</summary>
    public (string Field, string Reason)? Validate() =>
        GlobalBatchSize is < 1 or > MaxGlobalBatchSize ? ("globalBatchSize", $"must be between 1 and {MaxGlobalBatchSize}") : null;
}

/// <summary>A commit as the run's status shows it.</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunCommitStatus")]
public sealed record RunCommitStatus([property: Id(0)] int Epoch, [property: Id(1)] long Step, [property: Id(2)] string? Checkpoint);

/// <summary>The status of a run (<c>GET /v1/jobs/{id}/runs/{run}</c>).</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunStatus")]
public sealed record RunStatus
{
    /// <summary>The run's name.</summary>
    [Id(0)] public required string Run { get; init; }

    /// <summary>The job it reads.</summary>
    [Id(1)] public required string Job { get; init; }

    /// <summary>G.</summary>
    [Id(2)] public int GlobalBatchSize { get; init; }

    /// <summary>Whether the last partial step of an epoch is left out.</summary>
    [Id(3)] public bool DropRemainder { get; init; }

    /// <summary>Steps of an epoch; null for a live job.</summary>
    [Id(4)] public long? StepsPerEpoch { get; init; }

    /// <summary>The job's number of epochs.</summary>
    [Id(5)] public int Epochs { get; init; }

    /// <summary>The last commit, or null.</summary>
    [Id(6)] public RunCommitStatus? Committed { get; init; }

    /// <summary>The step to resume at.</summary>
    [Id(7)] public RunPosition ResumeAt { get; init; }

    /// <summary>Whether the job's last step is committed.</summary>
    [Id(8)] public bool Finished { get; init; }

    /// <summary>N, the records of an epoch (null for a live job).</summary>
    [Id(9)] public long? Records { get; init; }

    /// <summary>How many commits the run keeps by name (at least the last 100).</summary>
    [Id(10)] public int CommitsKept { get; init; }

    /// <summary>Committed steps per second over the kept commits, when two or more are kept.</summary>
    [Id(11)] public double? StepsPerSecond { get; init; }

    /// <summary>When the run was created.</summary>
    [Id(12)] public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>The answer to creating a run.</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.CreateRunResult")]
public sealed record CreateRunResult([property: Id(0)] bool Created, [property: Id(1)] RunStatus Status);

/// <summary>What a silo needs to serve any batch of a run, outside the run grain.</summary>
/// <param name="Job">The job's read plan (pinned files, shard size, shuffle, seed, epochs).</param>
/// <param name="Steps">The run's step arithmetic.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunBatchPlan")]
public sealed record RunBatchPlan([property: Id(0)] JobReadPlan Job, [property: Id(1)] RunSteps Steps);

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
}

/// <summary>The names of a job's runs, so that <c>GET /v1/jobs/{id}/runs</c> can list them. Keyed by job id.</summary>
[Alias("OrleansShards.IJobRunsGrain")]
public interface IJobRunsGrain : IGrainWithStringKey
{
    /// <summary>Adds a run name (durable before it returns).</summary>
    [Alias("Add")]
    Task Add(string run);

    /// <summary>Removes a run name.</summary>
    [Alias("Remove")]
    Task Remove(string run);

    /// <summary>The run names, in ordinal order.</summary>
    [Alias("List")]
    Task<IReadOnlyList<string>> List();
}
