namespace OrleansShards.Core;

/// <summary>
/// The task book of a job: which shards of which epoch are to do, leased, done or failed.
/// </summary>
/// <remarks>
/// The todo list is a cursor over a seeded per-epoch permutation of the catalogue's shards; done is
/// every position below the cursor that is not in flight, re-queued or dead-lettered. Only the
/// cursor, the leases in flight and what failed are kept in <see cref="TaskBookState"/>, so
/// persisting it costs O(in flight), not O(shards). Not thread-safe: the owning grain serialises calls.
/// An epoch ends when every shard of it is done or dead-lettered; the next epoch then begins.
/// </remarks>
public sealed class TaskBook : ITaskBook, ILeaseShards<LeaseRecord>
{
    /// <summary>How many epochs' counters the state keeps: a job of many epochs must not grow its state with them.</summary>
    public const int EpochHistoryLimit = 8;

    private readonly TaskBookState _state;
    private readonly TaskBookSettings _settings;
    private readonly ShardCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly Dictionary<long, string> _inFlightShards = [];
    private readonly HashSet<long> _requeued = [];
    private readonly HashSet<long> _deadThisEpoch = [];
    private readonly LeaseLedger<LeaseRecord> _leases;
    private SeededPermutation _order;

    /// <summary>Opens a task book over <paramref name="state"/>, which it changes in place.</summary>
    public TaskBook(TaskBookState state, TaskBookSettings settings, ShardCatalog catalog, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxAttempts, 1);
        _state = state;
        _settings = settings;
        _catalog = catalog;
        _time = time;
        if (_state.Epochs.Count == 0)
        {
            _state.Epochs.Add(new EpochCounters { Epoch = _state.Epoch });
        }

        foreach (var lease in _state.InFlight.Values)
        {
            _inFlightShards[lease.Shard] = lease.LeaseId;
        }

        _requeued.UnionWith(_state.Requeued);
        _deadThisEpoch.UnionWith(_state.DeadLetters.Where(d => d.Epoch == _state.Epoch).Select(d => d.Shard));
        _order = OrderOf(_state.Epoch);
        _leases = new LeaseLedger<LeaseRecord>(_state.InFlight, _state.Retries, this, settings.LeaseTimeout, settings.MaxAttempts, time);
        AdvanceEpochIfDone();
    }

    /// <summary>The persisted state; changed in place by every call that changes the book.</summary>
    public TaskBookState State => _state;

    /// <summary>The current epoch.</summary>
    public int Epoch => _state.Epoch;

    /// <summary>Whether every epoch has ended.</summary>
    public bool IsCompleted => _state.Completed;

    /// <summary>Increases with every change of <see cref="State"/>: callers persist when it moved.</summary>
    public long Version { get; private set; }

    /// <summary>The earliest expiry of a lease in flight, if any.</summary>
    public DateTimeOffset? NextExpiry => _leases.NextExpiry;

    /// <summary>The progress of the current epoch.</summary>
    public ShardProgress Progress
    {
        get
        {
            var total = _catalog.ShardCount;
            var failed = (long)_deadThisEpoch.Count;
            if (_state.Completed)
            {
                return new ShardProgress(total, 0, 0, total - failed, failed);
            }

            var doing = (long)_state.InFlight.Count;
            var requeued = (long)_state.Requeued.Count;
            var done = _state.Cursor - doing - requeued - failed;
            return new ShardProgress(total, total - _state.Cursor + requeued, doing, done, failed);
        }
    }

    /// <summary>
    /// Leases up to <paramref name="maxTasks"/> shards to <paramref name="workerId"/>: re-queued shards
    /// first, then the next shards of the epoch's order. A retried request with the same
    /// <paramref name="requestId"/> gets the leases it got before, while they are in flight.
    /// </summary>
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
        while (granted.Count < maxTasks && !_state.Completed && TryTakeNext(out var shard))
        {
            var lease = new LeaseRecord
            {
                LeaseId = LeaseIds.Of(_state.LeaseKey, _state.NextLeaseSequence++),
                Shard = shard,
                Epoch = _state.Epoch,
                Attempt = 1,
                WorkerId = workerId,
                ExpiresAt = expiresAt,
                RequestId = requestId,
            };
            _leases.Add(lease);
            _inFlightShards[shard] = lease.LeaseId;
            granted.Add(Granted(lease));
        }

        if (granted.Count > 0)
        {
            Version++;
        }

        return granted;
    }

    /// <summary>
    /// Records the outcome of a lease. A report of a lease that no longer holds its shard changes
    /// nothing; the same report again is a <see cref="ReportResult.Duplicate"/>.
    /// </summary>
    public ReportAnswer Report(string taskId, string leaseId, string workerId, bool done, string? error = null)
    {
        if (!TryResolveTask(taskId, out var epoch, out var shard, out var range))
        {
            return new ReportAnswer(ReportResult.UnknownTask, $"task '{taskId}' is not a shard of this job");
        }

        if (_leases.TryGet(leaseId, out var lease))
        {
            if (lease.Shard != shard || lease.Epoch != epoch)
            {
                return new ReportAnswer(ReportResult.StaleLease, $"lease '{leaseId}' holds task '{TaskIds.Format(lease.Epoch, _catalog[lease.Shard])}', not '{taskId}'");
            }

            if (!string.Equals(lease.WorkerId, workerId, StringComparison.Ordinal))
            {
                return new ReportAnswer(ReportResult.StaleLease, $"lease '{leaseId}' is held by worker '{lease.WorkerId}', not '{workerId}'");
            }

            _leases.EndReported(lease, done, workerId, error);
            if (done)
            {
                var counters = Counters;
                counters.ShardsDone++;
                counters.RecordsDelivered += range.Length;
                _state.TotalShardsDone++;
                _state.TotalRecordsDelivered += range.Length;
                if (_state.Retries.TryGetValue(RetryRecord.KeyOf(epoch, shard), out var retry))
                {
                    retry.CompletedBy = leaseId;
                }
            }

            AdvanceEpochIfDone();
            Version++;
            return new ReportAnswer(ReportResult.Accepted);
        }

        if (IsDone(epoch, shard))
        {
            return !_state.Retries.TryGetValue(RetryRecord.KeyOf(epoch, shard), out var retry) || retry.CompletedBy == leaseId
                ? new ReportAnswer(ReportResult.Duplicate)
                : new ReportAnswer(ReportResult.StaleLease, $"task '{taskId}' was completed by lease '{retry.CompletedBy}', not '{leaseId}'");
        }

        return new ReportAnswer(ReportResult.StaleLease, $"lease '{leaseId}' no longer holds task '{taskId}' ({DescribeShard(epoch, shard)})");
    }

    /// <summary>Extends the leases of <paramref name="workerId"/>; a lease it no longer holds maps to <see langword="null"/>.</summary>
    public IReadOnlyList<(string LeaseId, DateTimeOffset? ExpiresAt)> Heartbeat(string workerId, IReadOnlyList<string> leaseIds)
    {
        var (answers, renewed) = _leases.Heartbeat(workerId, leaseIds);
        if (renewed)
        {
            Version++;
        }

        return answers;
    }

    /// <summary>Ends leases of <paramref name="workerId"/> now and re-queues their shards without counting an attempt.</summary>
    /// <returns>How many leases were released.</returns>
    public int Release(string workerId, IReadOnlyList<string> leaseIds)
    {
        var released = _leases.Release(workerId, leaseIds);
        if (released > 0)
        {
            Version++;
        }

        return released;
    }

    /// <summary>
    /// Puts dead-lettered shards of the current epoch (of the last one once the job has ended) back in the queue
    /// with a fresh count of attempts: every such dead letter when <paramref name="taskIds"/> is null, else the ones
    /// named. Dead letters of an earlier epoch stay: that epoch's order has been served and is not reopened.
    /// </summary>
    public DeadLetterRetry RetryDeadLetters(IReadOnlyCollection<string>? taskIds)
    {
        var retried = new List<string>();
        var notRetried = new List<TaskNotRetried>();
        var wanted = taskIds?.ToHashSet(StringComparer.Ordinal);
        foreach (var dead in _state.DeadLetters.ToList())
        {
            var taskId = TaskIds.Format(dead.Epoch, dead.Range);
            if (wanted is not null && !wanted.Remove(taskId))
            {
                continue;
            }

            if (dead.Epoch != _state.Epoch)
            {
                if (wanted is not null)
                {
                    notRetried.Add(new TaskNotRetried(taskId, $"epoch {dead.Epoch} has ended; only dead letters of the current epoch ({_state.Epoch}) can be retried"));
                }

                continue;
            }

            _state.DeadLetters.Remove(dead);
            _deadThisEpoch.Remove(dead.Shard);
            _state.Retries.Remove(RetryRecord.KeyOf(dead.Epoch, dead.Shard));
            Requeue(dead.Shard);
            retried.Add(taskId);
        }

        notRetried.AddRange((wanted ?? []).Order(StringComparer.Ordinal).Select(id => new TaskNotRetried(id, "not a dead letter of this job")));
        if (retried.Count > 0)
        {
            // The last epoch ended with these dead letters: it is open again until they are done.
            _state.Completed = false;
            Version++;
        }

        return new DeadLetterRetry(retried, notRetried);
    }

    /// <summary>Ends every lease whose expiry has passed and re-queues (or dead-letters) its shard.</summary>
    /// <returns>How many leases expired.</returns>
    public int ExpireDue()
    {
        var expired = _leases.ExpireDue();
        if (expired > 0)
        {
            AdvanceEpochIfDone();
            Version++;
        }

        return expired;
    }

    /// <summary>Whether <paramref name="taskId"/> names a shard of an epoch that has begun.</summary>
    public bool TryResolveTask(string taskId, out int epoch, out long shard, out ShardRange range)
    {
        shard = -1;
        if (!TaskIds.TryParse(taskId, out epoch, out range) || epoch > _state.Epoch || epoch >= _settings.Epochs)
        {
            return false;
        }

        shard = _catalog.IndexOf(range);
        return shard >= 0;
    }

    private bool TryTakeNext(out long shard)
    {
        if (_state.Requeued.Count > 0)
        {
            shard = _state.Requeued[0];
            _state.Requeued.RemoveAt(0);
            _requeued.Remove(shard);
            return true;
        }

        if (_state.Cursor < _catalog.ShardCount)
        {
            shard = _order.At(_state.Cursor++);
            return true;
        }

        shard = -1;
        return false;
    }

    string ILeaseShards<LeaseRecord>.RetryKeyOf(LeaseRecord lease) => RetryRecord.KeyOf(lease.Epoch, lease.Shard);

    RetryRecord ILeaseShards<LeaseRecord>.NewRetryOf(LeaseRecord lease) => new() { Epoch = lease.Epoch, Shard = lease.Shard };

    void ILeaseShards<LeaseRecord>.Ended(LeaseRecord lease) => _inFlightShards.Remove(lease.Shard);

    void ILeaseShards<LeaseRecord>.Requeue(LeaseRecord lease) => Requeue(lease.Shard);

    void ILeaseShards<LeaseRecord>.DeadLetter(LeaseRecord lease, RetryRecord retry, string error)
    {
        _state.DeadLetters.Add(new DeadLetter
        {
            Epoch = lease.Epoch,
            Shard = lease.Shard,
            Range = _catalog[lease.Shard],
            Attempts = retry.FailedAttempts,
            LastError = error,
        });
        _deadThisEpoch.Add(lease.Shard);
    }

    void ILeaseShards<LeaseRecord>.CountExpired() => Counters.Expired++;

    void ILeaseShards<LeaseRecord>.CountFailed() => Counters.Failed++;

    private void Requeue(long shard)
    {
        _state.Requeued.Add(shard);
        _requeued.Add(shard);
    }

    private bool IsDone(int epoch, long shard)
    {
        if (epoch < _state.Epoch || _state.Completed)
        {
            return !_state.DeadLetters.Any(d => d.Epoch == epoch && d.Shard == shard);
        }

        return _order.IndexOf(shard) < _state.Cursor
            && !_inFlightShards.ContainsKey(shard)
            && !_requeued.Contains(shard)
            && !_deadThisEpoch.Contains(shard);
    }

    private string DescribeShard(int epoch, long shard)
    {
        if (epoch == _state.Epoch && _inFlightShards.TryGetValue(shard, out var holder))
        {
            return $"it is leased as '{holder}'";
        }

        if (epoch == _state.Epoch && _requeued.Contains(shard))
        {
            return "it is waiting to be leased again";
        }

        return _state.DeadLetters.Any(d => d.Epoch == epoch && d.Shard == shard) ? "it was dead-lettered" : "it has not been leased";
    }

    private void AdvanceEpochIfDone()
    {
        while (!_state.Completed
            && _state.Cursor >= _catalog.ShardCount
            && _state.InFlight.Count == 0
            && _state.Requeued.Count == 0)
        {
            if (_state.Epoch + 1 >= _settings.Epochs)
            {
                _state.Completed = true;
                Version++;
                return;
            }

            _state.Epoch++;
            _state.Cursor = 0;
            _state.Epochs.Add(new EpochCounters { Epoch = _state.Epoch });
            if (_state.Epochs.Count > EpochHistoryLimit)
            {
                _state.Epochs.RemoveRange(0, _state.Epochs.Count - EpochHistoryLimit);
            }

            // Retries of the epoch just ended stay, so a late duplicate report is still recognised.
            foreach (var old in _state.Retries.Values.Where(r => r.Epoch < _state.Epoch - 1).Select(r => r.Key).ToList())
            {
                _state.Retries.Remove(old);
            }

            _deadThisEpoch.Clear();
            _order = OrderOf(_state.Epoch);
            Version++;
        }
    }

    // Leases never outlive their epoch (an epoch ends only when none is in flight), so every
    // counted event belongs to the current epoch.
    private EpochCounters Counters => _state.Epochs[^1];

    private SeededPermutation OrderOf(int epoch) =>
        new(_catalog.ShardCount, DeterministicHash.Mix(_settings.Seed, (ulong)epoch), identity: !_settings.Shuffle);

    private GrantedLease Granted(LeaseRecord lease)
    {
        var range = _catalog[lease.Shard];
        return new GrantedLease(lease.LeaseId, TaskIds.Format(lease.Epoch, range), lease.Epoch, lease.Attempt, range, lease.ExpiresAt);
    }
}
