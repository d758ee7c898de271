using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>A job on the status page: its status and the leases in flight, each list cut to the first of the silo's limits.</summary>
/// <param name="Status">The job's status, as <c>GET /v1/jobs/{id}</c>, its dead letters cut to <c>Shards:Limits:StatusDeadLettersPerJob</c>.</param>
/// <param name="Leases">The leases in flight, by worker then task, at most <c>Shards:Limits:StatusLeasesPerJob</c>.</param>
/// <param name="LeasesNotListed">Leases in flight beyond those listed.</param>
/// <param name="DeadLettersNotListed">Dead letters beyond those listed in <paramref name="Status"/>.</param>
public sealed record JobSnapshot(JobStatus Status, IReadOnlyList<LeaseView> Leases, int LeasesNotListed = 0, int DeadLettersNotListed = 0)
{
    /// <summary>The job's training runs (issue 14).</summary>
    public IReadOnlyList<RunSnapshot> Runs { get; init; } = [];
}
