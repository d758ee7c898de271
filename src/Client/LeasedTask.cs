using System.Runtime.CompilerServices;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Client;

/// <summary>
/// A task leased by a consumer: its shard, its records, and its report. Its lease is renewed in
/// the background until it is reported or released.
/// </summary>
public sealed class LeasedTask
{
    private readonly ShardsClient _client;
    private readonly ConsumeOptions _options;
    private readonly CancellationTokenSource _leaseLost = new();
    private readonly SemaphoreSlim _reporting = new(1, 1);
    private long _expiresAtTicks;
    private int _outcome;

    internal LeasedTask(ShardsClient client, string jobId, TaskLease lease, ConsumeOptions options)
    {
        _client = client;
        _options = options;
        JobId = jobId;
        Lease = lease;
        _expiresAtTicks = lease.ExpiresAt.UtcTicks;
    }

    /// <summary>The job the task belongs to.</summary>
    public string JobId { get; }

    /// <summary>The lease as the server handed it out.</summary>
    public TaskLease Lease { get; }

    /// <summary>The task id (stable across attempts: epoch, partition and range).</summary>
    public string TaskId => Lease.TaskId;

    /// <summary>The lease id, needed for reports.</summary>
    public string LeaseId => Lease.LeaseId;

    /// <summary>The epoch the task belongs to.</summary>
    public int Epoch => Lease.Epoch;

    /// <summary>Which attempt at this shard this is, from 1.</summary>
    public int Attempt => Lease.Attempt;

    /// <summary>The shard: partition and offset range.</summary>
    public ShardRange Shard => Lease.Shard;

    /// <summary>The worker that holds the lease.</summary>
    public string WorkerId => _options.WorkerId;

    /// <summary>When the lease expires unless renewed again (updated by each heartbeat).</summary>
    public DateTimeOffset ExpiresAt
    {
        get => new(Interlocked.Read(ref _expiresAtTicks), TimeSpan.Zero);
        internal set => Interlocked.Exchange(ref _expiresAtTicks, value.UtcTicks);
    }

    /// <summary>How the task was reported so far.</summary>
    public TaskOutcome Outcome
    {
        get => (TaskOutcome)Volatile.Read(ref _outcome);
        private set => Volatile.Write(ref _outcome, (int)value);
    }

    /// <summary>Cancelled when the lease is lost (expired and handed to another worker): work on it is wasted.</summary>
    public CancellationToken LeaseLost => _leaseLost.Token;

    /// <summary>The task's records page by page (following <c>nextOffset</c>), in the source's or the job's seeded order.</summary>
    public async IAsyncEnumerable<RecordsPage> ReadBatchesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long? offset = 0;
        while (offset is { } from)
        {
            var page = await _client.GetRecordsAsync(JobId, TaskId, from, _options.BatchSize, _options.Columns, cancellationToken);
            offset = page.NextOffset;
            yield return page;
        }
    }

    /// <summary>Reports the task done. Returns false when the lease was lost before (the report changed nothing). A second report does nothing.</summary>
    public Task<bool> CompleteAsync(CancellationToken cancellationToken = default) => ReportAsync(true, null, cancellationToken);

    /// <summary>Reports the task failed with <paramref name="error"/>: it is retried until the job's attempts run out. Returns false when the lease was lost before.</summary>
    public Task<bool> FailAsync(string error, CancellationToken cancellationToken = default) => ReportAsync(false, error, cancellationToken);

    internal bool IsHeld => Outcome == TaskOutcome.Pending;

    /// <summary>
    /// The lease ended without a report. A heartbeat that finds the lease gone while a report is on
    /// its way is not taken as a loss: the report itself tells (done, or 409 when the lease was lost).
    /// </summary>
    internal void MarkLost(bool byHeartbeat = false)
    {
        if (byHeartbeat && _reporting.CurrentCount == 0)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _outcome, (int)TaskOutcome.Lost, (int)TaskOutcome.Pending) == (int)TaskOutcome.Pending)
        {
            _leaseLost.Cancel();
        }
    }

    private async Task<bool> ReportAsync(bool done, string? error, CancellationToken cancellationToken)
    {
        await _reporting.WaitAsync(cancellationToken);
        try
        {
            if (Outcome != TaskOutcome.Pending)
            {
                return Outcome == (done ? TaskOutcome.Done : TaskOutcome.Failed);
            }

            try
            {
                // Retried by the client on transient failures: a report repeated is accepted and changes nothing.
                await _client.ReportAsync(JobId, new TaskReport(TaskId, LeaseId, WorkerId, done, error), cancellationToken);
                Outcome = done ? TaskOutcome.Done : TaskOutcome.Failed;
                return true;
            }
            catch (ShardsApiException e) when (e.Status == 409)
            {
                // The lease expired and the shard went to another worker: this report is stale.
                MarkLost();
                return false;
            }
        }
        finally
        {
            _reporting.Release();
        }
    }
}

/// <summary>The lease loop behind <see cref="ShardsClient.ConsumeAsync"/> and <see cref="ShardsClient.ProcessAsync"/>.</summary>
internal sealed class TaskConsumer(ShardsClient client, string jobId, ConsumeOptions options)
{
    private static readonly TimeSpan ShortestHeartbeat = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LeaseAnswerGrace = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private readonly List<LeasedTask> _held = [];
    private readonly Queue<LeasedTask> _pending = new();
    private string? _jobState;

    private TimeProvider Clock => client.Options.TimeProvider;

    public async IAsyncEnumerable<LeasedTask> ConsumeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeats = HeartbeatLoop(stop.Token);
        try
        {
            LeasedTask? current = null;
            while (true)
            {
                if (current is { IsHeld: true })
                {
                    await current.CompleteAsync(cancellationToken);
                }

                current = await NextAsync(cancellationToken);
                if (current is null)
                {
                    yield break;
                }

                yield return current;
            }
        }
        finally
        {
            await StopAsync(stop, heartbeats);
        }
    }

    public async Task<ConsumeSummary> ProcessAsync(Func<LeasedTask, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        int done = 0, failed = 0, lost = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeats = HeartbeatLoop(stop.Token);
        try
        {
            while (await NextAsync(cancellationToken) is { } task)
            {
                using var work = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, task.LeaseLost);
                string? error = null;
                try
                {
                    await handler(task, work.Token);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (StopConsumingException)
                {
                    throw;
                }
                catch (Exception e)
                {
                    error = string.IsNullOrWhiteSpace(e.Message) ? e.GetType().Name : e.Message;
                }

                if (task.Outcome == TaskOutcome.Pending)
                {
                    if (error is null)
                    {
                        await task.CompleteAsync(cancellationToken);
                    }
                    else
                    {
                        await task.FailAsync(error, cancellationToken);
                    }
                }

                switch (task.Outcome)
                {
                    case TaskOutcome.Done: done++; break;
                    case TaskOutcome.Failed: failed++; break;
                    default: lost++; break;
                }
            }
        }
        finally
        {
            await StopAsync(stop, heartbeats);
        }

        return new ConsumeSummary(done, failed, lost, _jobState);
    }

    /// <summary>The next task: one leased before and not handed out yet, or a new lease; null when the job ended.</summary>
    private async Task<LeasedTask?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_gate)
            {
                _held.RemoveAll(t => !t.IsHeld);
                while (_pending.TryDequeue(out var queued))
                {
                    if (queued.IsHeld)
                    {
                        return queued;
                    }
                }
            }

            LeaseBatch batch;
            // A lease call is not cut off the moment the caller cancels: the server may already have granted leases,
            // and an answer that is thrown away leaves them held until they expire. It gets a short grace to land;
            // its leases are then held, and released with the others when the consumer stops.
            using var grace = new CancellationTokenSource(Timeout.InfiniteTimeSpan, Clock);
            using var graceStart = cancellationToken.Register(() => grace.CancelAfter(LeaseAnswerGrace));
            try
            {
                batch = await client.LeaseAsync(jobId, options.WorkerId, options.MaxTasks, null, grace.Token);
            }
            catch (ShardsApiException e) when (e.Status == 409 && e.Field == "state" && options.StopWhenJobEnds)
            {
                _jobState = JobStates.Cancelled;
                return null;
            }

            _jobState = batch.State;
            if (batch.Leases.Count > 0)
            {
                lock (_gate)
                {
                    foreach (var lease in batch.Leases)
                    {
                        var task = new LeasedTask(client, jobId, lease, options);
                        _held.Add(task);
                        _pending.Enqueue(task);
                    }
                }

                cancellationToken.ThrowIfCancellationRequested();
                continue;
            }

            if (options.StopWhenJobEnds && batch.State is JobStates.Completed or JobStates.Failed or JobStates.Cancelled)
            {
                return null;
            }

            var wait = batch.RetryAfterMs is { } ms ? TimeSpan.FromMilliseconds(ms) : options.IdleDelay;
            await Task.Delay(wait, Clock, cancellationToken);
        }
    }

    /// <summary>Renews every held lease in rounds, until <paramref name="stop"/>; a lease the server no longer knows is marked lost.</summary>
    private async Task HeartbeatLoop(CancellationToken stop)
    {
        // Yield first so that the caller's loop starts at once.
        await Task.Yield();
        while (!stop.IsCancellationRequested)
        {
            LeasedTask[] held;
            lock (_gate)
            {
                held = [.. _held.Where(t => t.IsHeld)];
            }

            var wait = options.HeartbeatInterval ?? NextRenewal(held);
            try
            {
                await Task.Delay(wait, Clock, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_gate)
            {
                held = [.. _held.Where(t => t.IsHeld)];
            }

            if (held.Length == 0)
            {
                continue;
            }

            try
            {
                var renewed = await client.HeartbeatAsync(jobId, options.WorkerId, [.. held.Select(t => t.LeaseId)], stop);
                var byLease = renewed.ToDictionary(r => r.LeaseId, r => r.ExpiresAt);
                foreach (var task in held)
                {
                    if (byLease.TryGetValue(task.LeaseId, out var expiresAt) && expiresAt is { } until)
                    {
                        task.ExpiresAt = until;
                    }
                    else
                    {
                        task.MarkLost(byHeartbeat: true);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ShardsApiException or HttpRequestException or OperationCanceledException)
            {
                // The client retried already; the next round tries again while the leases last.
            }
        }
    }

    private TimeSpan NextRenewal(IReadOnlyList<LeasedTask> held)
    {
        if (held.Count == 0)
        {
            return ShortestHeartbeat * 5;
        }

        var left = held.Min(t => t.ExpiresAt) - Clock.GetUtcNow();
        var wait = left / 3;
        return wait < ShortestHeartbeat ? ShortestHeartbeat : wait;
    }

    /// <summary>Stops the heartbeats and releases the leases still held, so their shards go back to the queue at once.</summary>
    private async Task StopAsync(CancellationTokenSource stop, Task heartbeats)
    {
        await stop.CancelAsync();
        await heartbeats;
        LeasedTask[] held;
        lock (_gate)
        {
            held = [.. _held.Where(t => t.IsHeld)];
            _held.Clear();
            _pending.Clear();
        }

        if (held.Length == 0)
        {
            return;
        }

        foreach (var task in held)
        {
            task.MarkLost();
        }

        try
        {
            // Not the caller's token: it may be the one that was cancelled, and the release must still go out.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10), Clock);
            await client.ReleaseAsync(jobId, options.WorkerId, [.. held.Select(t => t.LeaseId)], deadline.Token);
        }
        catch (Exception e) when (e is ShardsApiException or HttpRequestException or OperationCanceledException)
        {
            // The server is gone or the job too: the leases expire on their own.
        }
    }
}
