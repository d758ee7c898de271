namespace OrleansShards.Silo.Http;

/// <summary>Every job of the cluster at one moment (<c>GET /v1/status</c>, and each event of <c>GET /v1/status/stream</c>).</summary>
/// <param name="At">When the snapshot was taken.</param>
/// <param name="Jobs">The jobs, by id.</param>
public sealed record StatusSnapshot(DateTimeOffset At, IReadOnlyList<JobSnapshot> Jobs);
