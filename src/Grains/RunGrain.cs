using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// A training run over a job (issue 14): its spec, its commits and its resume point (over a live job also its sealed
/// steps: RunGrain.Live.cs). Every change is written through <see cref="IPersistentState{TState}"/> before the call
/// returns, so a commit answered is a commit kept. The job's read plan (pinned partitions, shard size, seed, epochs) is
/// asked for once per activation and never stored here: it is the job's, and immutable for a static job (a live job's
/// grows, so it is asked for each time).
/// </summary>
[GrainType("run")]
public sealed partial class RunGrain(
    [PersistentState("run", ShardsOptions.StorageName)] IPersistentState<RunState> state,
    TimeProvider time,
    SourceReaders readers) : Grain, IRunGrain
{
    private JobReadPlan? _plan;

    private string Key => this.GetPrimaryKeyString();

    private string JobId => Key[..Key.IndexOf('/', StringComparison.Ordinal)];

    private string RunName => Key[(Key.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <inheritdoc />
    public async Task<CreateRunResult> Create(RunSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Validate() is { } problem)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, $"{problem.Field} {problem.Reason}");
        }

        if (state.State.Spec is { } existing)
        {
            return existing == spec
                ? new CreateRunResult(false, await StatusAsync())
                : throw new ShardsException(ShardsErrorKind.Conflict, "run", $"run '{RunName}' of job '{JobId}' exists with another spec (globalBatchSize {existing.GlobalBatchSize}, dropRemainder {existing.DropRemainder})");
        }

        var plan = await PlanAsync();
        if (plan.Live)
        {
            return await CreateLive(spec, plan);
        }

        CheckMixtureSources(plan);
        var steps = new RunSteps(RecordsOf(plan), spec.GlobalBatchSize, spec.DropRemainder);
        if (steps.StepsPerEpoch < 1)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "globalBatchSize", $"globalBatchSize {spec.GlobalBatchSize} is more than the job's {steps.RecordCount} records: an epoch would have no step (use dropRemainder false to pad)");
        }

        // The name first, so a run that exists is always listed (a listed name without a run is skipped).
        await GrainFactory.GetGrain<IJobRunsGrain>(JobId).Add(RunName);
        state.State = new RunState { Spec = spec, CreatedAt = time.GetUtcNow() };
        await state.WriteStateAsync();
        return new CreateRunResult(true, await StatusAsync());
    }

    /// <inheritdoc />
    public async Task<RunStatus> GetStatus()
    {
        EnsureExists();
        return await StatusAsync();
    }

    /// <inheritdoc />
    public async Task<RunBatchPlan> GetBatchPlan()
    {
        var spec = EnsureExists();
        var plan = await PlanAsync();
        return new RunBatchPlan(plan, new RunSteps(RecordsOf(plan), spec.GlobalBatchSize, spec.DropRemainder));
    }

    /// <inheritdoc />
    public async Task<RunStatus> Commit(int epoch, long step, string? checkpoint)
    {
        if (state.State.Live is not null)
        {
            return await CommitLive(epoch, step, checkpoint);
        }

        var book = await BookAsync();
        var before = state.State.Book.Commits.ToList();
        if (Apply(() => book.Commit(epoch, step, checkpoint, time.GetUtcNow())) == RunBookResult.Changed)
        {
            await WriteOrRestore(before);
        }

        ShardsMetrics.RunCommitted(JobId, RunName, epoch, step);
        return await StatusAsync();
    }

    /// <inheritdoc />
    public async Task<RunStatus> Rewind(string? checkpoint, int? epoch, long? step)
    {
        if (state.State.Live is not null)
        {
            return await RewindLive(checkpoint, epoch, step);
        }

        var book = await BookAsync();
        var before = state.State.Book.Commits.ToList();
        var result = checkpoint is not null
            ? Apply(() => book.RewindTo(checkpoint))
            : epoch is { } e && step is { } s
                ? Apply(() => book.RewindTo(e, s))
                : throw new ShardsException(ShardsErrorKind.Invalid, "checkpoint", "a rewind names a checkpoint, or an epoch and a step");
        var mixtureBefore = state.State.Mixture;
        var mixtureRewound = RewindMixture(book.Committed!.Position);
        if (mixtureRewound || result == RunBookResult.Changed)
        {
            try
            {
                await WriteOrRestore(before);
            }
            catch
            {
                state.State.Mixture = mixtureBefore;
                throw;
            }
        }

        return await StatusAsync();
    }

    /// <inheritdoc />
    public Task<CheckpointRun?> Export() => Task.FromResult(state.State.Spec is { } spec
        ? new CheckpointRun
        {
            Run = RunName,
            GlobalBatchSize = spec.GlobalBatchSize,
            DropRemainder = spec.DropRemainder,
            Commits = [.. state.State.Book.Commits.Select(c => new CheckpointRunCommit(c.Epoch, c.Step, c.Checkpoint))],
            Served = state.State.Mixture.Served,
            Journal = state.State.Mixture.Journal.Count == 0 ? null : state.State.Mixture.Journal,
            Live = state.State.Live is { } live ? new LiveRunBook(live, state.State.Book, spec.GlobalBatchSize).Export() : null,
        }
        : null);

    /// <inheritdoc />
    public async Task<RunStatus> Import(CheckpointRun checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (state.State.Spec is not null)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "runs", $"run '{RunName}' of job '{JobId}' exists already");
        }

        var spec = new RunSpec(checkpoint.GlobalBatchSize, checkpoint.DropRemainder);
        if (spec.Validate() is { } problem)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, $"runs.{RunName}.{problem.Field}", $"run '{RunName}': {problem.Field} {problem.Reason}");
        }

        var plan = await PlanAsync();
        if (plan.Live)
        {
            return await ImportLive(checkpoint, spec);
        }

        var imported = new RunBookState();
        var book = new RunBook(imported, new RunSteps(RecordsOf(plan), spec.GlobalBatchSize, spec.DropRemainder), plan.Epochs);
        foreach (var commit in checkpoint.Commits ?? [])
        {
            try
            {
                book.Commit(commit.Epoch, commit.Step, commit.Checkpoint);
            }
            catch (RunBookException e)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, $"runs.{RunName}.commits", $"run '{RunName}': {e.Message}");
            }
        }

        var mixture = ImportMixture(checkpoint, plan, spec);
        await GrainFactory.GetGrain<IJobRunsGrain>(JobId).Add(RunName);
        state.State = new RunState { Spec = spec, Book = imported, CreatedAt = time.GetUtcNow(), Mixture = mixture };
        await state.WriteStateAsync();
        return await StatusAsync();
    }

    /// <inheritdoc />
    public async Task Delete()
    {
        EnsureExists();
        await state.ClearStateAsync();
        state.State = new RunState();
        await GrainFactory.GetGrain<IJobRunsGrain>(JobId).Remove(RunName);
        ShardsMetrics.ForgetRun(JobId, RunName);
        DeactivateOnIdle();
    }

    /// <summary>
    /// Writes the state; when the write fails, the commits go back to what is stored, so a commit that was not
    /// acknowledged is never reported as committed by a later call.
    /// </summary>
    private async Task WriteOrRestore(List<RunCommit> before)
    {
        try
        {
            await ShardsMetrics.TimeStorageWrite("run", () => state.WriteStateAsync());
        }
        catch
        {
            state.State.Book.Commits = before;
            throw;
        }
    }

    private RunSpec EnsureExists() =>
        state.State.Spec ?? throw new ShardsException(ShardsErrorKind.NotFound, "run", $"run '{RunName}' of job '{JobId}' does not exist");

    private async Task<RunBook> BookAsync()
    {
        var spec = EnsureExists();
        var plan = await PlanAsync();
        return new RunBook(state.State.Book, new RunSteps(RecordsOf(plan), spec.GlobalBatchSize, spec.DropRemainder), plan.Epochs);
    }

    private static RunBookResult Apply(Func<RunBookResult> change)
    {
        try
        {
            return change();
        }
        catch (RunBookException e)
        {
            var kind = e.Problem switch
            {
                RunBookProblem.Backwards => ShardsErrorKind.Conflict,
                RunBookProblem.Unknown => ShardsErrorKind.NotFound,
                _ => ShardsErrorKind.Invalid,
            };
            throw new ShardsException(kind, e.Field, e.Message);
        }
    }

    private async Task<JobReadPlan> PlanAsync()
    {
        if (_plan is null)
        {
            var plan = await GrainFactory.GetGrain<IJobGrain>(JobId).GetReadPlan();
            if (plan.Live)
            {
                // A live job's partitions and locators grow: its plan is asked for each time, never kept.
                return plan;
            }

            _plan = plan;
        }

        return _plan;
    }

    private static long RecordsOf(JobReadPlan plan) => plan.Mixture?.SamplesPerEpoch ?? plan.Files.Sum(f => f.RecordCount);

    private async Task<RunStatus> StatusAsync()
    {
        if (state.State.Live is not null)
        {
            return await LiveStatusAsync();
        }

        var spec = EnsureExists();
        var plan = await PlanAsync();
        var book = new RunBook(state.State.Book, new RunSteps(RecordsOf(plan), spec.GlobalBatchSize, spec.DropRemainder), plan.Epochs);
        return new RunStatus
        {
            Run = RunName,
            Job = JobId,
            GlobalBatchSize = spec.GlobalBatchSize,
            DropRemainder = spec.DropRemainder,
            StepsPerEpoch = new RunSteps(RecordsOf(plan), spec.GlobalBatchSize, spec.DropRemainder).StepsPerEpoch,
            Epochs = plan.Epochs,
            Committed = book.Committed is { } c ? new RunCommitStatus(c.Epoch, c.Step, c.Checkpoint) : null,
            ResumeAt = book.ResumeAt,
            Finished = book.Finished,
            Records = RecordsOf(plan),
            CommitsKept = book.Commits.Count,
            StepsPerSecond = book.StepsPerSecond(),
            CreatedAt = state.State.CreatedAt,
        };
    }
}
