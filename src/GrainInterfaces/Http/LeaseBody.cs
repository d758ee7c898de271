namespace OrleansShards.GrainInterfaces.Http;

/// <summary>Body of <c>POST /v1/jobs/{id}/leases</c>.</summary>
/// <param name="WorkerId">The worker asking.</param>
/// <param name="MaxTasks">At most this many leases (default 1).</param>
/// <param name="RequestId">A client id of the request: a retry with the same id gets the same leases.</param>
public sealed record LeaseBody(string? WorkerId, int? MaxTasks, string? RequestId);
