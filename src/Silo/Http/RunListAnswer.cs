using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>The answer of <c>GET /v1/jobs/{id}/runs</c> (for the OpenAPI document).</summary>
/// <param name="Runs">The runs' statuses.</param>
public sealed record RunListAnswer(IReadOnlyList<RunStatus> Runs);
