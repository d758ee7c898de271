using System.Globalization;

namespace OrleansShards.Core;

/// <summary>
/// The task book of a live job: its partitions never end, shards are offered by the splitters in
/// offset order as records arrive, and each partition keeps a committed offset, the end of its
/// contiguous prefix of done shards.
/// </summary>
/// <remarks>
/// There is one epoch (0). Leases go round the partitions in turn; within a partition a re-queued
/// shard goes before fresh ones, and fresh ones go in offset order. A dead-lettered shard is
/// terminal: the committed offset moves past it (it is listed with its error), so one poisoned
/// shard cannot stop a partition forever. Only runs of fresh shards, what is in flight and what
/// completed out of order are kept, so a write costs O(in flight), not O(shards cut).
/// </remarks>
public sealed class LiveTaskBook : ITaskBook, ILeaseShards<LiveLease>
{
    private const int RecentCompletionLimit = 256;
    private readonly LiveBookState _state;
    private readonly LiveBookSettings _settings;
    private readonly TimeProvider _time;
    private readonly Dictionary<int, int> _leasesPerPartition = [];
    private readonly LeaseLedger<LiveLease> _leases;

    /// <summary>Opens a live task book over <paramref name="state"/>, which it changes in place.</summary>
    public LiveTaskBook(LiveBookState state, LiveBookSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.ShardSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxAttempts, 1);
        _state = state;
        _settings = settings;
        _time = time;
        foreach (var lease in _state.InFlight.Values)
        {
            _leasesPerPartition[lease.Shard.Partition] = _leasesPerPartition.GetValueOrDefault(lease.Shard.Partition) + 1;
        }

        _leases = new LeaseLedger<LiveLease>(_state.InFlight, _state.Retries, this, settings.LeaseTimeout, settings.MaxAttempts, time);
    }

    /// <summary>The key of a shard in <see cref="LiveBookState.Retries"/>.</summary>
    public static string ShardKey(ShardRange shard) => string.Create(CultureInfo.InvariantCulture, $"{shard.Partition}:{shard.Start}");

    /// <summary>The persisted state; changed in place by every call that changes the book.</summary>
    public LiveBookState State => _state;

    /// <inheritdoc />
    public int Epoch => 0;

    /// <inheritdoc />
    public bool IsCompleted => false;

    /// <inheritdoc />
    public long Version { get; private set; }

    /// <inheritdoc />
    public DateTimeOffset? NextExpiry => _leases.NextExpiry;

    /// <summary>The number of partitions.</summary>
    public int PartitionCount => _state.Partitions.Count;

    /// <inheritdoc />
    public ShardProgress Progress
    {
        get
        {
            long todo = 0;
            foreach (var partition in _state.Partitions)
            {
                todo += partition.Requeued.Count;
                foreach (var run in partition.Fresh)
                {
                    todo += PiecesOf(run);
                }
            }

            var doing = (long)_state.InFlight.Count;
            var failed = (long)_state.DeadLetters.Count;
            return new ShardProgress(_state.ShardsCut, todo, doing, _state.ShardsCut - todo - doing - failed, failed);
        }
    }

    /// <summary>The partition <paramref name="partition"/>.</summary>
    public LivePartitionState this[int partition] => _state.Partitions[partition];

    /// <summary>Grows the book to <paramref name="partitions"/> partitions (new ones start at offset <paramref name="startOffset"/>).</summary>
    /// <returns>Whether partitions were added.</returns>
    public bool EnsurePartitions(int partitions, long startOffset = 0)
    {
        if (partitions <= _state.Partitions.Count)
        {
            return false;
        }

        while (_state.Partitions.Count < partitions)
        {
            _state.Partitions.Add(new LivePartitionState { Committed = startOffset, SplitUpTo = startOffset });
        }

        Version++;
        return true;
    }

    /// <summary>
    /// Takes the shards a splitter cut from <paramref name="partition"/>, in offset order. Shards that
    /// end at or below the offset split up to are already held (an offer repeated after a crash) and
    /// are ignored; a shard that does not start there leaves a gap or overlaps, and is refused.
    /// </summary>
    /// <returns>The partition's offset split up to after the offer.</returns>
    /// <exception cref="ArgumentException">A shard would leave a gap or overlap one already cut.</exception>
    public long Offer(int partition, IReadOnlyList<OffsetRange> shards, PartitionBounds? bounds = null)
    {
        ArgumentNullException.ThrowIfNull(shards);
        if (partition < 0 || partition >= _state.Partitions.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(partition), partition, $"the job has partitions 0 to {_state.Partitions.Count - 1}");
        }

        var state = _state.Partitions[partition];
        var changed = false;
        foreach (var shard in shards)
        {
            if (shard.End <= state.SplitUpTo)
            {
                continue;
            }

            if (shard.Start != state.SplitUpTo || shard.Length < 1 || shard.Length > _settings.ShardSize)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"partition {partition}: shard [{shard.Start}, {shard.End}) does not follow the offset split up to {state.SplitUpTo} with 1 to {_settings.ShardSize} records"), nameof(shards));
            }

            AppendFresh(state, shard);
            state.SplitUpTo = shard.End;
            _state.ShardsCut++;
            changed = true;
        }

        if (bounds is { } b && (b.HighWatermark != state.HighWatermark || b.FirstRetained != state.FirstRetained))
        {
            state.HighWatermark = Math.Max(state.HighWatermark, b.HighWatermark);
            state.FirstRetained = b.FirstRetained;
            changed = true;
        }

        if (changed)
        {
            Version++;
        }

        return state.SplitUpTo;
    }

    /// <inheritdoc />
    public IReadOnlyList<GrantedLease> Lease(string workerId, int maxTasks, string? requestId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(workerId);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTasks, 1);
        ExpireDue();
        var earlier = _leases.Replay(workerId, requestId);
        if (earlier.Count > 0)
        {
            return [.. earlier.Select(Granted)];
        }

        var granted = new List<GrantedLease>(Math.Min(maxTasks, 64));
        var expiresAt = _leases.NewExpiry();
        var partitions = _state.Partitions.Count;
        var idleInARow = 0;
        while (granted.Count < maxTasks && partitions > 0 && idleInARow < partitions)
        {
            var partition = _state.NextPartition % partitions;
            _state.NextPartition = (partition + 1) % partitions;
            if (!TryTakeNext(partition, out var shard))
            {
                idleInARow++;
                continue;
            }

            idleInARow = 0;
            var lease = new LiveLease
            {
                LeaseId = LeaseIds.Of(_state.LeaseKey, _state.NextLeaseSequence++),
                Shard = shard,
                Attempt = 1,
                WorkerId = workerId,
                ExpiresAt = expiresAt,
                RequestId = requestId,
            };
            _leases.Add(lease);
            _leasesPerPartition[partition] = _leasesPerPartition.GetValueOrDefault(partition) + 1;
            granted.Add(Granted(lease));
        }

        if (granted.Count > 0)
        {
            Version++;
        }

        return granted;
    }

    /// <inheritdoc />
    public ReportAnswer Report(string taskId, string leaseId, string workerId, bool done, string? error = null)
    {
        if (!TaskIds.TryParse(taskId, out var epoch, out var shard) || epoch != 0 || shard.Partition < 0 || shard.Partition >= _state.Partitions.Count
            || shard.End > _state.Partitions[shard.Partition].SplitUpTo)
        {
            return new ReportAnswer(ReportResult.UnknownTask, $"task '{taskId}' is not a shard of this job");
        }

        if (_leases.TryGet(leaseId, out var lease))
        {
            if (lease.Shard != shard)
            {
                return new ReportAnswer(ReportResult.StaleLease, $"lease '{leaseId}' holds task '{TaskIds.Format(0, lease.Shard)}', not '{taskId}'");
            }

            if (!string.Equals(lease.WorkerId, workerId, StringComparison.Ordinal))
            {
                return new ReportAnswer(ReportResult.StaleLease, $"lease '{leaseId}' is held by worker '{lease.WorkerId}', not '{workerId}'");
            }

            _leases.EndReported(lease, done, workerId, error);
            if (done)
            {
                _state.ShardsDone++;
                _state.RecordsDelivered += shard.Length;
                if (_state.Retries.Remove(ShardKey(shard)))
                {
                    RememberCompletion(shard, leaseId);
                }

                Complete(shard);
            }

            _leases.RecomputeNextExpiry();
            Version++;
            return new ReportAnswer(ReportResult.Accepted);
        }

        var partition = _state.Partitions[shard.Partition];
        var range = new OffsetRange(shard.Start, shard.End);
        if (shard.End <= partition.Committed || partition.DoneAhead.Contains(range))
        {
            var completedBy = _state.RecentCompletions.FirstOrDefault(c => c.StartsWith(ShardKey(shard) + "=", StringComparison.Ordinal));
            return completedBy is null || completedBy.EndsWith("=" + leaseId, StringComparison.Ordinal)
                ? new ReportAnswer(ReportResult.Duplicate)
                : new ReportAnswer(ReportResult.StaleLease, $"task '{taskId}' was completed by lease '{completedBy[(completedBy.IndexOf('=', StringComparison.Ordinal) + 1)..]}', not '{leaseId}'");
        }

        return new ReportAnswer(ReportResult.StaleLease, $"lease '{leaseId}' no longer holds task '{taskId}'");
    }

    /// <inheritdoc />
    public IReadOnlyList<(string LeaseId, DateTimeOffset? ExpiresAt)> Heartbeat(string workerId, IReadOnlyList<string> leaseIds)
    {
        var (answers, renewed) = _leases.Heartbeat(workerId, leaseIds);
        if (renewed)
        {
            Version++;
        }

        return answers;
    }

    /// <inheritdoc />
    public int Release(string workerId, IReadOnlyList<string> leaseIds)
    {
        var released = _leases.Release(workerId, leaseIds);
        if (released > 0)
        {
            Version++;
        }

        return released;
    }

    /// <inheritdoc />
    public int ExpireDue()
    {
        var expired = _leases.ExpireDue();
        if (expired > 0)
        {
            Version++;
        }

        return expired;
    }

    /// <summary>Whether <paramref name="taskId"/> names a shard this book has cut.</summary>
    public bool TryResolveTask(string taskId, out ShardRange shard) =>
        TaskIds.TryParse(taskId, out var epoch, out shard) && epoch == 0 && shard.Partition >= 0 && shard.Partition < _state.Partitions.Count
        && shard.End <= _state.Partitions[shard.Partition].SplitUpTo && shard.Length > 0;

    private bool TryTakeNext(int partition, out ShardRange shard)
    {
        var state = _state.Partitions[partition];
        shard = default;
        if (_settings.Ordered && _leasesPerPartition.GetValueOrDefault(partition) > 0)
        {
            return false;
        }

        if (state.Requeued.Count > 0)
        {
            var range = state.Requeued[0];
            state.Requeued.RemoveAt(0);
            shard = new ShardRange(partition, range.Start, range.End);
            return true;
        }

        if (state.Fresh.Count > 0)
        {
            var run = state.Fresh[0];
            var end = Math.Min(run.Start + _settings.ShardSize, run.End);
            shard = new ShardRange(partition, run.Start, end);
            if (end == run.End)
            {
                state.Fresh.RemoveAt(0);
            }
            else
            {
                state.Fresh[0] = run with { Start = end };
            }

            return true;
        }

        return false;
    }

    private void AppendFresh(LivePartitionState state, OffsetRange shard)
    {
        // A run stays one entry while its pieces are all full: cut boundaries are then implied by the shard size.
        if (state.Fresh.Count > 0 && state.Fresh[^1] is var last && last.End == shard.Start && last.Length % _settings.ShardSize == 0)
        {
            state.Fresh[^1] = last with { End = shard.End };
        }
        else
        {
            state.Fresh.Add(shard);
        }
    }

    private long PiecesOf(OffsetRange run) => (run.Length + _settings.ShardSize - 1) / _settings.ShardSize;

    private void Complete(ShardRange shard)
    {
        var state = _state.Partitions[shard.Partition];
        var range = new OffsetRange(shard.Start, shard.End);
        InsertSorted(state.DoneAhead, range);
        while (state.DoneAhead.Count > 0 && state.DoneAhead[0].Start == state.Committed)
        {
            state.Committed = state.DoneAhead[0].End;
            state.DoneAhead.RemoveAt(0);
        }
    }

    string ILeaseShards<LiveLease>.RetryKeyOf(LiveLease lease) => ShardKey(lease.Shard);

    RetryRecord ILeaseShards<LiveLease>.NewRetryOf(LiveLease lease) => new() { Epoch = 0, Shard = lease.Shard.Start };

    void ILeaseShards<LiveLease>.Ended(LiveLease lease)
    {
        var partition = lease.Shard.Partition;
        if (_leasesPerPartition.TryGetValue(partition, out var count))
        {
            if (count <= 1)
            {
                _leasesPerPartition.Remove(partition);
            }
            else
            {
                _leasesPerPartition[partition] = count - 1;
            }
        }
    }

    void ILeaseShards<LiveLease>.Requeue(LiveLease lease) => Requeue(lease.Shard);

    void ILeaseShards<LiveLease>.DeadLetter(LiveLease lease, RetryRecord retry, string error)
    {
        // Terminal: the committed offset moves past the shard, so one poisoned shard cannot stop a partition.
        _state.DeadLetters.Add(new DeadLetter
        {
            Epoch = 0,
            Shard = lease.Shard.Start,
            Range = lease.Shard,
            Attempts = retry.FailedAttempts,
            LastError = error,
        });
        _state.Retries.Remove(ShardKey(lease.Shard));
        Complete(lease.Shard);
    }

    void ILeaseShards<LiveLease>.CountExpired() => _state.Expired++;

    void ILeaseShards<LiveLease>.CountFailed() => _state.Failed++;

    private void Requeue(ShardRange shard) => InsertSorted(_state.Partitions[shard.Partition].Requeued, new OffsetRange(shard.Start, shard.End));

    private void RememberCompletion(ShardRange shard, string leaseId)
    {
        _state.RecentCompletions.Add(ShardKey(shard) + "=" + leaseId);
        if (_state.RecentCompletions.Count > RecentCompletionLimit)
        {
            _state.RecentCompletions.RemoveRange(0, _state.RecentCompletions.Count - RecentCompletionLimit);
        }
    }

    private static void InsertSorted(List<OffsetRange> ranges, OffsetRange range)
    {
        var index = ranges.Count;
        while (index > 0 && ranges[index - 1].Start > range.Start)
        {
            index--;
        }

        ranges.Insert(index, range);
    }

    private static GrantedLease Granted(LiveLease lease) =>
        new(lease.LeaseId, TaskIds.Format(0, lease.Shard), 0, lease.Attempt, lease.Shard, lease.ExpiresAt);
}
