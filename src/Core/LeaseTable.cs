namespace OrleansShards.Core;

/// <summary>A lease in flight as both task books keep it: who holds it and until when.</summary>
public interface IHeldLease
{
    /// <summary>The lease id.</summary>
    string LeaseId { get; }

    /// <summary>The worker that holds the lease.</summary>
    string WorkerId { get; }

    /// <summary>When the lease expires unless renewed.</summary>
    DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>What the static and the live task book do alike with their leases in flight: renew, find the expired, the next expiry.</summary>
internal static class LeaseTable
{
    /// <summary>Renews the leases of <paramref name="leaseIds"/> that <paramref name="workerId"/> holds until <paramref name="expiresAt"/>; a lease it does not hold maps to <see langword="null"/>.</summary>
    /// <returns>The answers, in the order asked, and whether any lease was renewed.</returns>
    public static (List<(string LeaseId, DateTimeOffset? ExpiresAt)> Answers, bool Renewed) Renew<TLease>(
        IReadOnlyDictionary<string, TLease> inFlight, string workerId, IReadOnlyList<string> leaseIds, DateTimeOffset expiresAt)
        where TLease : IHeldLease
    {
        var answers = new List<(string, DateTimeOffset?)>(leaseIds.Count);
        var renewed = false;
        foreach (var leaseId in leaseIds)
        {
            if (inFlight.TryGetValue(leaseId, out var lease) && string.Equals(lease.WorkerId, workerId, StringComparison.Ordinal))
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

        return (answers, renewed);
    }

    /// <summary>The leases <paramref name="workerId"/> holds among <paramref name="leaseIds"/>.</summary>
    public static List<TLease> HeldBy<TLease>(IReadOnlyDictionary<string, TLease> inFlight, string workerId, IReadOnlyList<string> leaseIds)
        where TLease : IHeldLease =>
        [.. leaseIds.Distinct(StringComparer.Ordinal).Select(id => inFlight.TryGetValue(id, out var lease) ? lease : default).OfType<TLease>().Where(l => string.Equals(l.WorkerId, workerId, StringComparison.Ordinal))];

    /// <summary>The leases whose expiry is at or before <paramref name="now"/>, the earliest first.</summary>
    public static List<TLease> ExpiredAt<TLease>(IEnumerable<TLease> inFlight, DateTimeOffset now)
        where TLease : IHeldLease =>
        [.. inFlight.Where(l => l.ExpiresAt <= now).OrderBy(l => l.ExpiresAt)];

    /// <summary>The earliest expiry among <paramref name="inFlight"/>, if any.</summary>
    public static DateTimeOffset? NextExpiry<TLease>(IReadOnlyCollection<TLease> inFlight)
        where TLease : IHeldLease =>
        inFlight.Count == 0 ? null : inFlight.Min(l => l.ExpiresAt);
}
