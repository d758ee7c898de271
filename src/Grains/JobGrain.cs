using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
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
    JobCheckpointService checkpoints,
    TimeProvider time,
    IOptions<ShardsOptions> options,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private const int RetryAfterWhileDescribingMs = 200;

    // A paused job is waiting for a person.
    private const int PausedRetryAfterMs = 1000;
    private const int MaxTasksPerLease = 10_000;
    private static readonly TimeSpan LiveWatchPeriod = TimeSpan.FromSeconds(5);
    // Static or live (null while a static job still describes its files): the grain does not branch on the kind.
    private IJobBook? _book;
    private IGrainTimer? _liveTimer;
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
            if (_book is null or LiveJobBook)
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

        var (files, mixturePartitions) = normalized.IsMixture ? await ResolveMixture(normalized) : (await readers.ResolvePartitionsAsync(normalized.Source!), null);
        State.Spec = normalized;
        State.MixturePartitions = mixturePartitions;
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
        _book?.Tasks.ExpireDue();
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

        InputCeilings.CheckId(request.WorkerId, "workerId");
        InputCeilings.CheckId(request.RequestId, "requestId");
        if (request.MaxTasks is < 1 or > MaxTasksPerLease)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "maxTasks", $"maxTasks must be between 1 and {MaxTasksPerLease}");
        }

        if (State.Lifecycle == JobStates.Cancelled)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "state", $"job '{JobId}' is cancelled: no leases are handed out");
        }

        RefuseLeasesOverMixture();
        if (_book is null)
        {
            return new LeaseBatch([], StateName(), RetryAfterWhileDescribingMs);
        }

        if (State.Lifecycle == JobStates.Paused)
        {
            return new LeaseBatch([], StateName(), PausedRetryAfterMs);
        }

        var granted = _book.Tasks.Lease(request.WorkerId, request.MaxTasks, request.RequestId);
        await Persist();
        ShardsMetrics.LeasesGranted(JobId, granted.Count);
        JobLog.Leased(logger, JobId, request.WorkerId, granted);
        var leases = granted.Select(l => new TaskLease(l.TaskId, l.LeaseId, l.Epoch, l.Attempt, l.Shard, l.ExpiresAt)).ToList();
        return new LeaseBatch(leases, StateName(), leases.Count == 0 && !_book.Tasks.IsCompleted ? _book.NothingFreeRetryAfterMs : null);
    }

    /// <inheritdoc />
    public async Task<ReportResponse> Report(TaskReport report)
    {
        EnsureExists();
        if (string.IsNullOrWhiteSpace(report.WorkerId))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "workerId", "workerId is required");
        }

        CheckReportIds(report, "");
        if (_book is null)
        {
            throw new ShardsException(ShardsErrorKind.NotFound, "taskId", $"task '{report.TaskId}' is not a task of job '{JobId}': no lease was handed out yet");
        }

        var answer = _book.Tasks.Report(report.TaskId, report.LeaseId, report.WorkerId, report.Done, report.Error);
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
        for (var i = 0; i < reports.Count; i++)
        {
            if (reports[i] is null || string.IsNullOrWhiteSpace(reports[i].WorkerId) || string.IsNullOrWhiteSpace(reports[i].TaskId) || string.IsNullOrWhiteSpace(reports[i].LeaseId))
            {
                throw new ShardsException(ShardsErrorKind.Invalid, $"reports[{i}]", $"reports[{i}] needs taskId, leaseId and workerId");
            }

            CheckReportIds(reports[i], $"reports[{i}].");
        }

        foreach (var report in reports)
        {
            if (_book is null)
            {
                outcomes.Add(new ReportVerdict(report.TaskId, report.LeaseId, ReportResult.UnknownTask, $"task '{report.TaskId}' is not a task of job '{JobId}': no lease was handed out yet"));
                continue;
            }

            var answer = _book.Tasks.Report(report.TaskId, report.LeaseId, report.WorkerId, report.Done, report.Error);
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
        CheckLeaseIds(workerId, leaseIds);
        if (_book is null)
        {
            return [.. leaseIds.Select(id => new LeaseRenewal(id, null))];
        }

        var renewed = _book.Tasks.Heartbeat(workerId, leaseIds);
        await Persist();
        return [.. renewed.Select(r => new LeaseRenewal(r.LeaseId, r.ExpiresAt))];
    }

    /// <inheritdoc />
    public async Task<int> Release(string workerId, IReadOnlyList<string> leaseIds)
    {
        EnsureExists();
        CheckLeaseIds(workerId, leaseIds);
        if (_book is null)
        {
            return 0;
        }

        var released = _book.Tasks.Release(workerId, leaseIds);
        await Persist();
        return released;
    }

    private static void CheckReportIds(TaskReport report, string place)
    {
        InputCeilings.CheckId(report.WorkerId, place + "workerId");
        InputCeilings.CheckId(report.TaskId, place + "taskId");
        InputCeilings.CheckId(report.LeaseId, place + "leaseId");
    }

    private static void CheckLeaseIds(string workerId, IReadOnlyList<string> leaseIds)
    {
        if (string.IsNullOrWhiteSpace(workerId))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "workerId", "workerId is required");
        }

        InputCeilings.CheckId(workerId, "workerId");
        InputCeilings.CheckIds(leaseIds, "leaseIds");
    }

    /// <inheritdoc />
    public Task<JobReadPlan> GetReadPlan()
    {
        EnsureExists();
        if (_book is null)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' is still describing its source");
        }

        return Task.FromResult(_book.ReadPlan());
    }

    private async Task StartSplitters()
    {
        if (State.Live is not null)
        {
            await StartLiveSplitters();
            return;
        }

        var pending = Enumerable.Range(0, State.Paths.Count).Where(p => State.Files[p] is null).ToList();
        await Task.WhenAll(pending.Select(p => GrainFactory.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(JobId, p))
            .Start(new SplitterAssignment(JobId, p, State.Paths[p], SourceOfPartition(p)))));
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
        if (_book is not null || JobBooks.Open(State, time) is not { } book)
        {
            return;
        }

        _book = book;
        _persistedVersion = book.Tasks.Version;
        ShardsMetrics.SetInFlight(JobId, book.Tasks.Progress.Doing);
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

        if (_book?.Tasks.IsCompleted == true)
        {
            return _book.DeadLetters.Count == 0 ? JobStates.Completed : JobStates.Failed;
        }

        return JobStates.Running;
    }

    private JobStatus BuildStatus()
    {
        var spec = State.Spec!;
        var book = _book;
        // A static job still describing its files has no book yet: its partitions wait for their splitters.
        var partitions = State.Paths.Select((path, p) => book is not null
            ? book.DescribePartition(p, readers.Display(path))
            : new PartitionStatus(p, readers.Display(path), State.Files[p]?.RecordCount, null, State.Files[p] is not null)).ToList();
        // The latest dead letters only: each error is bounded, their number is not.
        var allDead = book?.DeadLetters ?? State.Book.DeadLetters;
        var dead = allDead.Skip(Math.Max(0, allDead.Count - MaxDeadLettersListed)).Select(d => new DeadLetterStatus(TaskIds.Format(d.Epoch, d.Range), d.Epoch, d.Range, d.Attempts, d.LastError)).ToList();
        return new JobStatus(
            JobId,
            StateName(),
            State.Book.Epoch,
            spec.Epochs,
            book?.Tasks.Progress ?? new ShardProgress(0, 0, 0, 0, 0),
            new RecordCounts(book?.RecordsDelivered ?? State.Book.TotalRecordsDelivered, book?.TotalRecords),
            partitions,
            book?.EpochHistory ?? StaticJobBook.Epochs(State.Book),
            dead,
            spec,
            State.CreatedAt)
        {
            DeadLettersNotListed = allDead.Count > MaxDeadLettersListed ? allDead.Count - MaxDeadLettersListed : null,
        };
    }

    /// <summary>Dead letters a job's status lists at most (the latest); <see cref="JobStatus.DeadLettersNotListed"/> counts the rest.</summary>
    internal const int MaxDeadLettersListed = 1_000;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: creating the job failed; its state was removed")]
    private static partial void LogCreateFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: restarting splitters failed; the next activation tries again")]
    private static partial void LogSplittersFailed(ILogger logger, Exception exception, string jobId);
}
