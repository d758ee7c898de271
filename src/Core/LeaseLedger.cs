using System.Globalization;

namespace OrleansShards.Core;

/// <summary>
/// What a task book decides about its own shards when the <see cref="LeaseLedger{TLease}"/> ends a
/// lease: how a shard is keyed among the retries, where it is re-queued, how it is dead-lettered.
/// </summary>
/// <typeparam name="TLease">The book's lease record.</typeparam>
internal interface ILeaseShards<TLease>
    where TLease : IHeldLease
{
    /// <summary>The key of the lease's shard in the book's retries.</summary>
    string RetryKeyOf(TLease lease);

    /// <summary>A new retry record of the lease's shard (its epoch and shard set; counts left at zero).</summary>
    RetryRecord NewRetryOf(TLease lease);

    /// <summary>The lease left the leases in flight: forget what the book indexes by it.</summary>
    void Ended(TLease lease);

    /// <summary>Puts the lease's shard back to be leased again.</summary>
    void Requeue(TLease lease);

    /// <summary>Gives up on the lease's shard after <paramref name="retry"/>'s failed attempts.</summary>
    void DeadLetter(TLease lease, RetryRecord retry, string error);

    /// <summary>Counts an expired lease.</summary>
    void CountExpired();

    /// <summary>Counts an attempt reported failed.</summary>
    void CountFailed();
}

/// <summary>
/// The lease logic the static and the live task book share: the leases in flight, a retried
/// request's replay, attempts, heartbeats, releases, expiry, and a failure's end (re-queue, or dead
/// letter after <c>maxAttempts</c>). What a shard is, where it waits and what done means stay with the book.
/// Not thread-safe: the owning book's caller serialises calls.
/// </summary>
/// <typeparam name="TLease">The book's lease record, persisted in the book's state.</typeparam>
internal sealed class LeaseLedger<TLease>
    where TLease : class, IHeldLease
{
    private readonly Dictionary<string, TLease> _inFlight;
    private readonly Dictionary<string, RetryRecord> _retries;
    private readonly ILeaseShards<TLease> _shards;
    private readonly TimeSpan _leaseTimeout;
    private readonly int _maxAttempts;
    private readonly TimeProvider _time;

    /// <summary>Keeps <paramref name="inFlight"/> and <paramref name="retries"/>, parts of the book's persisted state, which it changes in place.</summary>
    public LeaseLedger(Dictionary<string, TLease> inFlight, Dictionary<string, RetryRecord> retries, ILeaseShards<TLease> shards, TimeSpan leaseTimeout, int maxAttempts, TimeProvider time)
    {
        _inFlight = inFlight;
        _retries = retries;
        _shards = shards;
        _leaseTimeout = leaseTimeout;
        _maxAttempts = maxAttempts;
        _time = time;
        RecomputeNextExpiry();
    }

    /// <summary>The leases in flight, by lease id.</summary>
    public IReadOnlyDictionary<string, TLease> InFlight => _inFlight;

    /// <summary>The earliest expiry of a lease in flight, if any (possibly earlier than the true one after a report: expiry recomputes it).</summary>
    public DateTimeOffset? NextExpiry { get; private set; }

    /// <summary>When a lease handed out or renewed now expires.</summary>
    public DateTimeOffset NewExpiry() => _time.GetUtcNow() + _leaseTimeout;

    /// <summary>The leases a retried request of <paramref name="workerId"/> got before, in lease id order; empty when none is in flight.</summary>
    public List<TLease> Replay(string workerId, string? requestId) =>
        requestId is null
            ? []
            : [.. _inFlight.Values.Where(l => l.RequestId == requestId && l.WorkerId == workerId).OrderBy(l => l.LeaseId, StringComparer.Ordinal)];

    /// <summary>Puts <paramref name="lease"/> in flight; a shard leased before makes it a further attempt.</summary>
    public void Add(TLease lease)
    {
        if (_retries.TryGetValue(_shards.RetryKeyOf(lease), out var retry))
        {
            retry.Leases++;
            lease.Attempt = retry.Leases;
        }

        _inFlight.Add(lease.LeaseId, lease);
        NextExpiry = NextExpiry is { } next && next < lease.ExpiresAt ? next : lease.ExpiresAt;
    }

    /// <summary>The lease in flight named <paramref name="leaseId"/>.</summary>
    public bool TryGet(string leaseId, out TLease lease) => _inFlight.TryGetValue(leaseId, out lease!);

    /// <summary>
    /// Ends a lease a report named: done leaves the shard to the book; failed counts a failed
    /// attempt and re-queues or dead-letters the shard.
    /// </summary>
    public void EndReported(TLease lease, bool done, string workerId, string? error)
    {
        End(lease);
        if (!done)
        {
            _shards.CountFailed();
            RecordFailure(lease, string.IsNullOrWhiteSpace(error) ? $"worker '{workerId}' reported the task failed without an error" : error);
        }
    }

    /// <summary>Extends the leases of <paramref name="workerId"/>; a lease it no longer holds maps to <see langword="null"/>.</summary>
    /// <returns>The answers in the order asked, and whether any lease was renewed.</returns>
    public (List<(string LeaseId, DateTimeOffset? ExpiresAt)> Answers, bool Renewed) Heartbeat(string workerId, IReadOnlyList<string> leaseIds)
    {
        var expiresAt = NewExpiry();
        var answers = new List<(string, DateTimeOffset?)>(leaseIds.Count);
        var renewed = false;
        foreach (var leaseId in leaseIds)
        {
            if (_inFlight.TryGetValue(leaseId, out var lease) && string.Equals(lease.WorkerId, workerId, StringComparison.Ordinal))
            {
                lease.ExpiresAt = expiresAt;
                answers.Add((leaseId, expiresAt));
                renewed = true;
            }
            else
            {
                answers.Add((leaseId, null));
            }
        }

        if (renewed)
        {
            RecomputeNextExpiry();
        }

        return (answers, renewed);
    }

    /// <summary>Ends the leases of <paramref name="workerId"/> among <paramref name="leaseIds"/> and re-queues their shards without counting a failed attempt.</summary>
    /// <returns>How many leases were released.</returns>
    public int Release(string workerId, IReadOnlyList<string> leaseIds)
    {
        var held = leaseIds.Distinct(StringComparer.Ordinal)
            .Select(id => _inFlight.TryGetValue(id, out var lease) ? lease : null)
            .OfType<TLease>()
            .Where(l => string.Equals(l.WorkerId, workerId, StringComparison.Ordinal))
            .ToList();
        foreach (var lease in held)
        {
            End(lease);
            _ = RetryOf(lease); // so the next lease of the shard counts as a further attempt
            _shards.Requeue(lease);
        }

        if (held.Count > 0)
        {
            RecomputeNextExpiry();
        }

        return held.Count;
    }

    /// <summary>Ends every lease whose expiry has passed, the earliest first, and re-queues (or dead-letters) its shard.</summary>
    /// <returns>How many leases expired.</returns>
    public int ExpireDue()
    {
        var now = _time.GetUtcNow();
        if (NextExpiry is not { } next || next > now)
        {
            return 0;
        }

        var expired = _inFlight.Values.Where(l => l.ExpiresAt <= now).OrderBy(l => l.ExpiresAt).ToList();
        foreach (var lease in expired)
        {
            End(lease);
            _shards.CountExpired();
            RecordFailure(lease, string.Create(CultureInfo.InvariantCulture, $"lease '{lease.LeaseId}' of worker '{lease.WorkerId}' expired at {lease.ExpiresAt:O}"));
        }

        RecomputeNextExpiry();
        return expired.Count;
    }

    /// <summary>Recomputes the earliest expiry from the leases in flight.</summary>
    public void RecomputeNextExpiry() => NextExpiry = _inFlight.Count == 0 ? null : _inFlight.Values.Min(l => l.ExpiresAt);

    private void End(TLease lease)
    {
        _inFlight.Remove(lease.LeaseId);
        _shards.Ended(lease);
    }

    private RetryRecord RetryOf(TLease lease)
    {
        var key = _shards.RetryKeyOf(lease);
        if (!_retries.TryGetValue(key, out var retry))
        {
            retry = _shards.NewRetryOf(lease);
            retry.Leases = lease.Attempt;
            _retries.Add(key, retry);
        }

        return retry;
    }

    private void RecordFailure(TLease lease, string error)
    {
        error = TaskErrors.Truncate(error);
        var retry = RetryOf(lease);
        retry.FailedAttempts++;
        retry.LastError = error;
        if (retry.FailedAttempts >= _maxAttempts)
        {
            _shards.DeadLetter(lease, retry, error);
        }
        else
        {
            _shards.Requeue(lease);
        }
    }
}
