namespace OrleansShards.GrainInterfaces.Http;

/// <summary>The answer of <c>POST /v1/jobs/{id}/heartbeats</c>.</summary>
/// <param name="Leases">Each lease's new expiry; null when the worker no longer holds it.</param>
public sealed record HeartbeatAnswer(IReadOnlyList<LeaseRenewal> Leases);
