namespace OrleansShards.Silo.Http;

/// <summary>Body of <c>POST /v1/jobs/{id}/runs/{run}/mixture</c>: new weights from a step on.</summary>
/// <param name="Weights">The new weights by source name; sources not named keep theirs.</param>
/// <param name="FromStep">The first step drawn with them; after the highest step served.</param>
/// <param name="FromEpoch">Its epoch (default 0).</param>
public sealed record RunMixtureBody(IReadOnlyDictionary<string, double>? Weights, long? FromStep, int? FromEpoch);

/// <summary>Body of <c>POST /v1/jobs/{id}/mixture</c>: new weights for the job's leases from an epoch on.</summary>
/// <param name="Weights">The new weights by source name.</param>
/// <param name="FromEpoch">The first epoch drawn with them.</param>
public sealed record JobMixtureBody(IReadOnlyDictionary<string, double>? Weights, int? FromEpoch);
