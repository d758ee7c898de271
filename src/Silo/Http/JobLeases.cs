namespace OrleansShards.Silo.Http;

/// <summary>The leases in flight of a job (<c>GET /v1/jobs/{id}/leases</c>).</summary>
/// <param name="JobId">The job.</param>
/// <param name="Leases">The leases in flight, by worker then task.</param>
public sealed record JobLeases(string JobId, IReadOnlyList<LeaseView> Leases);
