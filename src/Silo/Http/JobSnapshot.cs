using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>A job on the status page: its status and the leases in flight.</summary>
/// <param name="Status">The job's status, as <c>GET /v1/jobs/{id}</c>.</param>
/// <param name="Leases">The leases in flight.</param>
public sealed record JobSnapshot(JobStatus Status, IReadOnlyList<LeaseView> Leases)
{
    /// <summary>The job's training runs (issue 14).</summary>
    public IReadOnlyList<RunSnapshot> Runs { get; init; } = [];
}
