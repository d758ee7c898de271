using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// The job: owns the task book, hands out leases, takes reports, expires leases on a grain timer
/// and on activation, and advances epochs.
/// </summary>
/// <remarks>
/// Reentrant, so concurrent calls overlap at their state writes and Orleans folds a write that
/// arrives during another into the next one: group commit without a queue of our own. In strict
/// durability every call that changed the book returns only after a write that holds its change.
/// In batched durability the state is written at most every <c>flushIntervalMs</c>: a crash can
/// repeat work, never lose it, because leases handed out and not yet written are simply leased again.
/// </remarks>
// Pinned to the name Orleans derived from the class name before it was pinned (lower case, "Grain" cut off):
// stored state and running clusters keep their identity if the class is renamed.
[GrainType("job")]
[Reentrant]
public sealed partial class JobGrain(
    [PersistentState("job", ShardsOptions.StorageName)] IPersistentState<JobState> state,
    SourceReaders readers,
    TimeProvider time,
    IOptions<ShardsOptions> options,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IJobSplitterCallbacks
{
    private const int RetryAfterWhileDescribingMs = 200;

    // No shard is free but some are in flight: the epoch ends (or a shard is re-queued) as soon as
    // one is reported, so ask again soon; a paused job is waiting for a person.
    private const int DrainingRetryAfterMs = 25;
    private const int PausedRetryAfterMs = 1000;
    private const int MaxTasksPerLease = 10_000;
    private const int LiveRetryAfterMs = 50;
    private static readonly TimeSpan LiveWatchPeriod = TimeSpan.FromSeconds(5);
    private ITaskBook? _book;
    private LiveTaskBook? _live;
    private IGrainTimer? _liveTimer;
    private ShardCatalog? _catalog;
    private long _persistedVersion;
    private bool _dirty;
    private IGrainTimer? _expiryTimer;
    private IGrainTimer? _flushTimer;
    private readonly SemaphoreSlim _createGate = new(1, 1);

    private string JobId => this.GetPrimaryKeyString();

    private JobState State => state.State;

    private bool Exists => State.Spec is not null;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists)
        {
            OpenBook();
            StartTimers();
            if (_book is null || _live is not null)
            {
                // Splitters call back into this grain: ask them after activation, not during it.
                this.RegisterGrainTimer(RestartSplitters, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = true });
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        ShardsMetrics.Forget(JobId);
        if (_dirty && Exists)
        {
            await state.WriteStateAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<CreateJobResult> Create(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Validate() is { } problem)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, $"{problem.Field} {problem.Reason}");
        }

        if (spec.Id is not null && spec.Id != JobId)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "id", $"id '{spec.Id}' does not match the job '{JobId}' it was sent to");
        }

        var normalized = spec.Normalize() with { Id = JobId };
        // Creating awaits the source and the splitters; a second create arriving meanwhile (the
        // grain is reentrant) must see the first one's outcome, not race it.
        await _createGate.WaitAsync();
        try
        {
            return await CreateOnce(normalized);
        }
        finally
        {
            _createGate.Release();
        }
    }

    private async Task<CreateJobResult> CreateOnce(JobSpec normalized)
    {
        if (Exists)
        {
            return normalized.Canonical() == State.Spec!.Canonical()
                ? new CreateJobResult(false, BuildStatus())
                : throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' exists with another spec; delete it first or choose another id");
        }

        if (normalized.IsLive)
        {
            return await CreateLive(normalized);
        }

        var files = await readers.ResolvePartitionsAsync(normalized.Source!);
        State.Spec = normalized;
        State.CreatedAt = time.GetUtcNow();
        State.Paths = [.. files];
        State.Files = [.. files.Select(_ => (PinnedFile?)null)];
        State.Book = new TaskBookState();
        State.Lifecycle = JobStates.Running;
        await state.WriteStateAsync();
        try
        {
            await StartSplitters();
        }
        catch (Exception e)
        {
            LogCreateFailed(logger, e, JobId);
            await DeleteState();
            throw e is ShardsException ? e : new ShardsException(ShardsErrorKind.Invalid, "source", $"the source cannot be described: {e.Message}");
        }

        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).Add(JobId);
        StartTimers();
        return new CreateJobResult(true, BuildStatus());
    }

    /// <inheritdoc />
    public Task<JobStatus> GetStatus()
    {
        EnsureExists();
        _book?.ExpireDue();
        return Task.FromResult(BuildStatus());
    }

    /// <inheritdoc />
    public async Task<LeaseBatch> Lease(LeaseRequest request)
    {
        EnsureExists();
        if (string.IsNullOrWhiteSpace(request.WorkerId))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "workerId", "workerId is required");
        }

        if (request.MaxTasks is < 1 or > MaxTasksPerLease)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "maxTasks", $"maxTasks must be between 1 and {MaxTasksPerLease}");
        }

        if (State.Lifecycle == JobStates.Cancelled)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "state", $"job '{JobId}' is cancelled: no leases are handed out");
        }

        if (_book is null)
        {
            return new LeaseBatch([], StateName(), RetryAfterWhileDescribingMs);
        }

        if (State.Lifecycle == JobStates.Paused)
        {
            return new LeaseBatch([], StateName(), PausedRetryAfterMs);
        }

        var granted = _book.Lease(request.WorkerId, request.MaxTasks, request.RequestId);
        await Persist();
        ShardsMetrics.LeasesGranted(JobId, granted.Count);
        JobLog.Leased(logger, JobId, request.WorkerId, granted);
        var leases = granted.Select(l => new TaskLease(l.TaskId, l.LeaseId, l.Epoch, l.Attempt, l.Shard, l.ExpiresAt)).ToList();
        return new LeaseBatch(leases, StateName(), leases.Count == 0 && !_book.IsCompleted ? (_live is null ? DrainingRetryAfterMs : LiveRetryAfterMs) : null);
    }

    /// <inheritdoc />
    public async Task<ReportResponse> Report(TaskReport report)
    {
        EnsureExists();
        if (string.IsNullOrWhiteSpace(report.WorkerId))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "workerId", "workerId is required");
        }

        if (_book is null)
        {
            throw new ShardsException(ShardsErrorKind.NotFound, "taskId", $"task '{report.TaskId}' is not a task of job '{JobId}': no lease was handed out yet");
        }

        var answer = _book.Report(report.TaskId, report.LeaseId, report.WorkerId, report.Done, report.Error);
        switch (answer.Result)
        {
            case ReportResult.Accepted:
                await Persist();
                ShardsMetrics.Reported(JobId, report);
                JobLog.Reported(logger, JobId, report);
                return new ReportResponse(true, false);
            case ReportResult.Duplicate:
                return new ReportResponse(false, true);
            case ReportResult.UnknownTask:
                throw new ShardsException(ShardsErrorKind.NotFound, "taskId", answer.Reason!);
            default:
                throw new ShardsException(ShardsErrorKind.Conflict, "leaseId", answer.Reason!);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReportVerdict>> ReportMany(IReadOnlyList<TaskReport> reports)
    {
        EnsureExists();
        if (reports.Count is 0 or > MaxTasksPerLease)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "reports", $"reports must hold between 1 and {MaxTasksPerLease} reports");
        }

        var outcomes = new List<ReportVerdict>(reports.Count);
        foreach (var report in reports)
        {
            if (string.IsNullOrWhiteSpace(report.WorkerId) || string.IsNullOrWhiteSpace(report.TaskId) || string.IsNullOrWhiteSpace(report.LeaseId))
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "reports", "every report needs taskId, leaseId and workerId");
            }

            if (_book is null)
            {
                outcomes.Add(new ReportVerdict(report.TaskId, report.LeaseId, ReportResult.UnknownTask, $"task '{report.TaskId}' is not a task of job '{JobId}': no lease was handed out yet"));
                continue;
            }

            var answer = _book.Report(report.TaskId, report.LeaseId, report.WorkerId, report.Done, report.Error);
            outcomes.Add(new ReportVerdict(report.TaskId, report.LeaseId, answer.Result, answer.Reason));
        }

        // One write holds every accepted report of the batch.
        await Persist();
        ShardsMetrics.Reported(JobId, reports, outcomes);
        JobLog.Reported(logger, JobId, reports, outcomes);
        return outcomes;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LeaseRenewal>> Heartbeat(string workerId, IReadOnlyList<string> leaseIds)
    {
        EnsureExists();
        if (_book is null)
        {
            return [.. leaseIds.Select(id => new LeaseRenewal(id, null))];
        }

        var renewed = _book.Heartbeat(workerId, leaseIds);
        await Persist();
        return [.. renewed.Select(r => new LeaseRenewal(r.LeaseId, r.ExpiresAt))];
    }

    /// <inheritdoc />
    public async Task<int> Release(string workerId, IReadOnlyList<string> leaseIds)
    {
        EnsureExists();
        if (_book is null)
        {
            return 0;
        }

        var released = _book.Release(workerId, leaseIds);
        await Persist();
        return released;
    }

    /// <inheritdoc />
    public Task<JobReadPlan> GetReadPlan()
    {
        EnsureExists();
        if (_book is null)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' is still describing its source");
        }

        var spec = State.Spec!;
        if (_live is not null)
        {
            // A live partition has no pinned file: its "file" is the locator, its records the offset split up to.
            var partitions = State.Paths.Select((path, p) => new PinnedFile(path, _live[p].SplitUpTo, 0, 0, 0)).ToList();
            return Task.FromResult(new JobReadPlan(spec.Source!, partitions, spec.ShardSize, 0, 1, false, spec.Seed, Live: true));
        }

        return Task.FromResult(new JobReadPlan(spec.Source!, [.. State.Files!], spec.ShardSize, _book.Epoch, spec.Epochs, spec.Shuffle, spec.Seed));
    }

    /// <inheritdoc />
    public Task<JobStatus> Pause() => ChangeLifecycle(JobStates.Paused);

    /// <inheritdoc />
    public Task<JobStatus> Resume() => ChangeLifecycle(JobStates.Running);

    /// <inheritdoc />
    public Task<JobStatus> Cancel() => ChangeLifecycle(JobStates.Cancelled);

    /// <inheritdoc />
    public async Task Delete()
    {
        EnsureExists();
        await DeleteState();
        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).Remove(JobId);
        this.DeactivateOnIdle();
    }

    /// <inheritdoc />
    public async Task AcknowledgePartition(int partition, PinnedFile file)
    {
        EnsureExists();
        if (partition < 0 || partition >= State.Files.Count)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partition", $"job '{JobId}' has no partition {partition}");
        }

        if (State.Files[partition] is { } known)
        {
            if (known != file)
            {
                throw new ShardsException(ShardsErrorKind.Conflict, "partition", $"partition {partition} of job '{JobId}' was acknowledged with another fingerprint of '{known.Path}'");
            }

            return;
        }

        State.Files[partition] = file;
        OpenBook();
        // The splitter persists its offset after this returns: the acknowledgement must be durable first.
        await WriteNow();
    }

    /// <inheritdoc />
    public Task<PinnedFile?> GetAcknowledgedPartition(int partition) =>
        Task.FromResult(Exists && partition >= 0 && partition < State.Files.Count ? State.Files[partition] : null);

    private async Task StartSplitters()
    {
        if (State.Live is not null)
        {
            await StartLiveSplitters();
            return;
        }

        var source = State.Spec!.Source!;
        var pending = Enumerable.Range(0, State.Paths.Count).Where(p => State.Files[p] is null).ToList();
        await Task.WhenAll(pending.Select(p => GrainFactory.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(JobId, p))
            .Start(new SplitterAssignment(JobId, p, State.Paths[p], source))));
    }

    private async Task RestartSplitters()
    {
        try
        {
            await StartSplitters();
        }
        catch (Exception e)
        {
            LogSplittersFailed(logger, e, JobId);
        }
    }

    private void OpenBook()
    {
        if (_book is null && State.Live is not null)
        {
            var spec = State.Spec!;
            _live = new LiveTaskBook(State.Live, new LiveBookSettings(spec.ShardSize, spec.Ordered, TimeSpan.FromSeconds(spec.LeaseTimeoutSeconds), spec.MaxAttempts), time);
            _book = _live;
            _book.ExpireDue();
            _persistedVersion = _book.Version;
            return;
        }

        if (_book is not null || State.Files.Any(f => f is null))
        {
            return;
        }

        _catalog = new ShardCatalog(State.Files.Select(f => f!.RecordCount).ToArray(), State.Spec!.ShardSize);
        _book = new TaskBook(State.Book, State.Spec.ToTaskBookSettings(), _catalog, time);
        // Leases that expired while the grain was not active are re-queued at once; storing that
        // can wait for the next change, since the same expiry is derived again on any later activation.
        _book.ExpireDue();
        _persistedVersion = _book.Version;
        ShardsMetrics.SetInFlight(JobId, _book.Progress.Doing);
    }

    private void StartTimers()
    {
        var spec = State.Spec!;
        var period = TimeSpan.FromMilliseconds(Math.Min(options.Value.ExpiryScanPeriod.TotalMilliseconds, spec.LeaseTimeoutSeconds * 1000 / 4.0));
        _expiryTimer ??= this.RegisterGrainTimer(ExpireLeases, new GrainTimerCreationOptions(period, period) { Interleave = true });
        if (spec.Durability == JobSpec.Batched)
        {
            var flush = TimeSpan.FromMilliseconds(spec.FlushIntervalMs ?? 1000);
            _flushTimer ??= this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(flush, flush) { Interleave = true });
        }

        if (spec.IsLive)
        {
            _liveTimer ??= this.RegisterGrainTimer(WatchLivePartitions, new GrainTimerCreationOptions(LiveWatchPeriod, LiveWatchPeriod) { Interleave = true });
        }
    }

    private async Task ExpireLeases()
    {
        if (_book is not null && _book.ExpireDue() > 0)
        {
            await Persist();
        }
    }

    private async Task Flush()
    {
        if (_dirty)
        {
            await WriteNow();
        }
    }

    private async Task Persist()
    {
        if (_book is null || _book.Version == _persistedVersion)
        {
            return;
        }

        ShardsMetrics.SetInFlight(JobId, _book.Progress.Doing);
        PublishLag();
        if (State.Spec!.Durability == JobSpec.Batched)
        {
            _dirty = true;
            return;
        }

        await WriteNow();
    }

    private async Task WriteNow()
    {
        var version = _book?.Version ?? 0;
        _dirty = false;
        try
        {
            await ShardsMetrics.TimeStorageWrite("job", () => state.WriteStateAsync());
            _persistedVersion = Math.Max(_persistedVersion, version);
        }
        catch (Exception e)
        {
            // The book in memory may now hold changes that are not durable: reload it from storage.
            LogWriteFailed(logger, e, JobId);
            this.DeactivateOnIdle();
            throw;
        }
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
        _live = null;
        _catalog = null;
        _dirty = false;
        ShardsMetrics.Forget(JobId);
        await state.ClearStateAsync();
        state.State = new JobState();
    }

    private void EnsureExists()
    {
        if (!Exists)
        {
            throw ShardsException.JobNotFound(JobId);
        }
    }


    private string StateName()
    {
        if (State.Lifecycle != JobStates.Running)
        {
            return State.Lifecycle;
        }

        if (_book?.IsCompleted == true)
        {
            return State.Book.DeadLetters.Count == 0 ? JobStates.Completed : JobStates.Failed;
        }

        return JobStates.Running;
    }

    private JobStatus BuildStatus()
    {
        var spec = State.Spec!;
        var progress = _book?.Progress ?? new ShardProgress(0, 0, 0, 0, 0);
        var partitions = State.Paths.Select((path, p) =>
        {
            var file = p < State.Files.Count ? State.Files[p] : null;
            return new PartitionStatus(p, readers.Display(path), file?.RecordCount, file is null ? null : _catalog?.ShardsOf(p), file is not null);
        }).ToList();
        var live = State.Live;
        List<EpochStatus> epochs = live is not null
            ? [new EpochStatus(0, live.ShardsDone, live.RecordsDelivered, live.Expired, live.Failed)]
            : State.Book.Epochs.Select(e => new EpochStatus(e.Epoch, e.ShardsDone, e.RecordsDelivered, e.Expired, e.Failed)).ToList();
        var dead = (live?.DeadLetters ?? State.Book.DeadLetters).Select(d => new DeadLetterStatus(TaskIds.Format(d.Epoch, d.Range), d.Epoch, d.Range, d.Attempts, d.LastError)).ToList();
        if (_live is not null)
        {
            partitions = [.. partitions.Select(p => LiveStatusOf(p))];
        }

        long? total = _live is null && State.Files.All(f => f is not null) ? State.Files.Sum(f => f!.RecordCount) * spec.Epochs : null;
        return new JobStatus(
            JobId,
            StateName(),
            State.Book.Epoch,
            spec.Epochs,
            progress,
            new RecordCounts(live?.RecordsDelivered ?? State.Book.TotalRecordsDelivered, total),
            partitions,
            epochs,
            dead,
            spec,
            State.CreatedAt);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: creating the job failed; its state was removed")]
    private static partial void LogCreateFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: restarting splitters failed; the next activation tries again")]
    private static partial void LogSplittersFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId}: writing state failed; the grain reloads from storage")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string jobId);
}
