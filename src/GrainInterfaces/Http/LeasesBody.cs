namespace OrleansShards.GrainInterfaces.Http;

/// <summary>Body of <c>POST /v1/jobs/{id}/heartbeats</c> and <c>/releases</c>.</summary>
/// <param name="WorkerId">The worker that holds the leases.</param>
/// <param name="LeaseIds">The leases.</param>
public sealed record LeasesBody(string? WorkerId, IReadOnlyList<string>? LeaseIds);
