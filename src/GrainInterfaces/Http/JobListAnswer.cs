namespace OrleansShards.GrainInterfaces.Http;

/// <summary>The answer of <c>GET /v1/jobs</c>.</summary>
/// <param name="Jobs">Every job's status.</param>
public sealed record JobListAnswer(IReadOnlyList<JobStatus> Jobs);
