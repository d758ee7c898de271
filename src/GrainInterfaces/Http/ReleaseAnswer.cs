namespace OrleansShards.GrainInterfaces.Http;

/// <summary>The answer of <c>POST /v1/jobs/{id}/releases</c>.</summary>
/// <param name="Released">The leases that ended now.</param>
public sealed record ReleaseAnswer(int Released);
