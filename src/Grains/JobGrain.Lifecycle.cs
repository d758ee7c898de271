using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>A job's lifecycle: paused, resumed, cancelled, deleted with its splitters' state.</summary>
public sealed partial class JobGrain
{
    /// <inheritdoc />
    public Task<JobStatus> Pause() => ChangeLifecycle(JobStates.Paused);

    /// <inheritdoc />
    public Task<JobStatus> Resume() => ChangeLifecycle(JobStates.Running);

    /// <inheritdoc />
    public Task<JobStatus> Cancel() => ChangeLifecycle(JobStates.Cancelled);

    /// <inheritdoc />
    public async Task<DeadLetterRetry> RetryDeadLetters(IReadOnlyList<string>? taskIds)
    {
        EnsureExists();
        if (State.Lifecycle == JobStates.Cancelled)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "state", $"job '{JobId}' is cancelled: its dead letters cannot be retried");
        }

        if (_book is null)
        {
            return new DeadLetterRetry([], [.. (taskIds ?? []).Select(id => new TaskNotRetried(id, "not a dead letter of this job"))]);
        }

        var answer = _book.RetryDeadLetters(taskIds);
        if (answer.Retried.Count > 0)
        {
            // Durable before the answer whatever the job's durability: an operator's action, not a worker's report.
            await WriteNow();
            JobLog.DeadLettersRetried(logger, JobId, answer.Retried.Count);
        }

        return answer;
    }

    /// <inheritdoc />
    public async Task Delete()
    {
        EnsureExists();
        await DeleteRuns();
        await DeleteState();
        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).Remove(JobId);
        this.DeactivateOnIdle();
    }

    private async Task<JobStatus> ChangeLifecycle(string lifecycle)
    {
        EnsureExists();
        if (State.Lifecycle == JobStates.Cancelled && lifecycle != JobStates.Cancelled)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "state", $"job '{JobId}' is cancelled and cannot be {lifecycle} again");
        }

        if (State.Lifecycle != lifecycle)
        {
            State.Lifecycle = lifecycle;
            await WriteNow();
        }

        return BuildStatus();
    }

    private async Task DeleteState()
    {
        var partitions = State.Paths.Count;
        await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => GrainFactory.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(JobId, p)).Delete()));
        _expiryTimer?.Dispose();
        _flushTimer?.Dispose();
        _liveTimer?.Dispose();
        _expiryTimer = _flushTimer = _liveTimer = null;
        _book = null;
        _dirty = false;
        ShardsMetrics.Forget(JobId);
        await state.ClearStateAsync();
        state.State = new JobState();
    }
}
