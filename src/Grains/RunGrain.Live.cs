using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// Runs over live jobs (docs/runs.md, "Live runs"): one epoch whose steps are cut in arrival order from what the
/// partitions hold past the run's position and sealed durably before they are first served, commits that advance
/// per-partition offsets, and a retention floor at the step after the oldest kept commit.
/// </summary>
public sealed partial class RunGrain
{
    /// <inheritdoc />
    public async Task<LiveStepPlan> SealLiveStep(long step)
    {
        var spec = EnsureExists();
        var live = state.State.Live ?? throw new ShardsException(ShardsErrorKind.Invalid, "run", $"run '{RunName}' of job '{JobId}' reads a static job: its steps are served from the global order");
        var plan = await PlanAsync();
        var bounds = await BoundsAsync(plan);
        var book = new LiveRunBook(live, state.State.Book, spec.GlobalBatchSize);
        var before = Snapshot();
        var added = book.AddPartitions([.. bounds.Select(b => b.FirstRetained)]);
        var sealedBefore = book.Sealed;
        var ready = ApplyLive(() => book.TrySeal(step, [.. bounds.Select(b => b.HighWatermark)]));
        if (added || book.Sealed != sealedBefore)
        {
            // Durable before the step is first served: a step's content never changes, whatever fails after.
            await WriteOrRestore(before);
        }

        return new LiveStepPlan(ready, plan, ready ? book.RangesOf(step) : [], spec.GlobalBatchSize, [.. bounds.Select(b => b.HighWatermark)]);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<long>?> GetRetentionFloor() =>
        Task.FromResult<IReadOnlyList<long>?>(state.State.Spec is not null && state.State.Live is { } live ? [.. live.Start] : null);

    private async Task<CreateRunResult> CreateLive(RunSpec spec, JobReadPlan plan)
    {
        var bounds = await BoundsAsync(plan);
        var live = new LiveRunState();
        var fresh = new RunBookState();
        new LiveRunBook(live, fresh, spec.GlobalBatchSize).Begin([.. bounds.Select(b => b.FirstRetained)]);

        // The name first, so a run that exists is always listed (a listed name without a run is skipped).
        await GrainFactory.GetGrain<IJobRunsGrain>(JobId).Add(RunName);
        state.State = new RunState { Spec = spec, Book = fresh, Live = live, CreatedAt = time.GetUtcNow() };
        await state.WriteStateAsync();
        return new CreateRunResult(true, await StatusAsync());
    }

    private async Task<RunStatus> CommitLive(int epoch, long step, string? checkpoint)
    {
        var spec = EnsureExists();
        var book = new LiveRunBook(state.State.Live!, state.State.Book, spec.GlobalBatchSize);
        var before = Snapshot();
        if (ApplyLive(() => book.Commit(epoch, step, checkpoint, time.GetUtcNow())) == RunBookResult.Changed)
        {
            await WriteOrRestore(before);
        }

        ShardsMetrics.RunCommitted(JobId, RunName, epoch, step);
        return await StatusAsync();
    }

    private async Task<RunStatus> RewindLive(string? checkpoint, int? epoch, long? step)
    {
        var spec = EnsureExists();
        var book = new LiveRunBook(state.State.Live!, state.State.Book, spec.GlobalBatchSize);
        var before = Snapshot();
        var result = checkpoint is not null
            ? ApplyLive(() => book.RewindTo(checkpoint))
            : epoch is { } e && step is { } s
                ? ApplyLive(() => book.RewindTo(e, s))
                : throw new ShardsException(ShardsErrorKind.Invalid, "checkpoint", "a rewind names a checkpoint, or an epoch and a step");
        if (result == RunBookResult.Changed)
        {
            // The steps after the commit rewound to are served again with the same records: they must still be there.
            var bounds = await BoundsAsync(await PlanAsync());
            if (book.FirstGone([.. bounds.Select(b => b.FirstRetained)]) is { } gone)
            {
                Restore(before);
                throw new ShardsException(ShardsErrorKind.Conflict, checkpoint is not null ? "checkpoint" : "step", $"the steps after that commit read partition {gone.Partition} from offset {gone.Needed}, but its first retained offset is {gone.FirstRetained}: those records are gone");
            }

            await WriteOrRestore(before);
        }

        return await StatusAsync();
    }

    private async Task<RunStatus> ImportLive(CheckpointRun checkpoint, RunSpec spec)
    {
        LiveRunState live;
        var imported = new RunBookState();
        try
        {
            live = checkpoint.Live is { } seals
                ? LiveRunBook.Import(seals, spec.GlobalBatchSize)
                : throw new RunBookException(RunBookProblem.Invalid, "live", "a run of a live job carries its seals (live: {firstStep, start, ends})");
            // The kept seals begin right after the oldest kept commit (at 0 before any): a rewind to it needs them all.
            var commits = checkpoint.Commits ?? [];
            var firstStep = commits.Count > 0 ? commits[0].Step + 1 : 0;
            if (live.FirstStep != firstStep)
            {
                throw new RunBookException(RunBookProblem.Invalid, "live.firstStep", $"live.firstStep {live.FirstStep} is not {firstStep}, the step after the oldest kept commit");
            }

            var book = new LiveRunBook(live, imported, spec.GlobalBatchSize);
            foreach (var commit in commits)
            {
                book.Commit(commit.Epoch, commit.Step, commit.Checkpoint);
            }
        }
        catch (RunBookException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, $"runs.{RunName}.{e.Field}", $"run '{RunName}': {e.Message}");
        }

        await GrainFactory.GetGrain<IJobRunsGrain>(JobId).Add(RunName);
        state.State = new RunState { Spec = spec, Book = imported, Live = live, CreatedAt = time.GetUtcNow() };
        await state.WriteStateAsync();
        return await StatusAsync();
    }

    private async Task<RunStatus> LiveStatusAsync()
    {
        var spec = EnsureExists();
        var bounds = await BoundsAsync(await PlanAsync());
        var book = new LiveRunBook(state.State.Live!, state.State.Book, spec.GlobalBatchSize);
        var committed = book.CommittedOffsets();
        return new RunStatus
        {
            Run = RunName,
            Job = JobId,
            GlobalBatchSize = spec.GlobalBatchSize,
            DropRemainder = spec.DropRemainder,
            StepsPerEpoch = null,
            Epochs = 1,
            Committed = book.Committed is { } c ? new RunCommitStatus(c.Epoch, c.Step, c.Checkpoint) : null,
            ResumeAt = book.ResumeAt,
            Finished = false,
            Records = null,
            CommitsKept = book.Commits.Count,
            StepsPerSecond = book.StepsPerSecond(),
            CreatedAt = state.State.CreatedAt,
            Live = true,
            SealedSteps = book.Sealed,
            FirstKeptStep = book.FirstStep,
            Partitions = [.. bounds.Select((b, p) =>
            {
                // A partition added after the run's last seal starts at its first retained offset.
                var offset = p < committed.Length ? committed[p] : b.FirstRetained;
                return new RunPartitionStatus(p, offset, b.HighWatermark, Math.Max(0, b.HighWatermark - offset), b.FirstRetained);
            })],
        };
    }

    /// <summary>The bounds of the job's partitions now, through the live source's adapter.</summary>
    private async Task<PartitionBounds[]> BoundsAsync(JobReadPlan plan)
    {
        var adapter = readers.LiveFor(plan.Source);
        return await Task.WhenAll(plan.Files.Select(f => adapter.GetBoundsAsync(plan.Source, f.Path).AsTask()));
    }

    private (List<RunCommit> Commits, LiveRunState? Live) Snapshot() =>
        ([.. state.State.Book.Commits], state.State.Live is { } live
            ? new LiveRunState { FirstStep = live.FirstStep, Start = [.. live.Start], Ends = [.. live.Ends.Select(row => row.ToList())] }
            : null);

    private void Restore((List<RunCommit> Commits, LiveRunState? Live) before)
    {
        state.State.Book.Commits = before.Commits;
        state.State.Live = before.Live;
    }

    /// <summary>Writes the state; when the write fails, the commits and seals go back to what is stored.</summary>
    private async Task WriteOrRestore((List<RunCommit> Commits, LiveRunState? Live) before)
    {
        try
        {
            await ShardsMetrics.TimeStorageWrite("run", () => state.WriteStateAsync());
        }
        catch
        {
            Restore(before);
            throw;
        }
    }

    private static T ApplyLive<T>(Func<T> change)
    {
        try
        {
            return change();
        }
        catch (RunBookException e)
        {
            var kind = e.Problem switch
            {
                RunBookProblem.Backwards or RunBookProblem.Forgotten => ShardsErrorKind.Conflict,
                RunBookProblem.Unknown => ShardsErrorKind.NotFound,
                _ => ShardsErrorKind.Invalid,
            };
            throw new ShardsException(kind, e.Field, e.Message);
        }
    }
}
