namespace OrleansShards.Silo.Http;

/// <summary>Body of <c>POST /v1/jobs/{id}/runs</c>.</summary>
/// <param name="Run">The run's name.</param>
/// <param name="GlobalBatchSize">G.</param>
/// <param name="DropRemainder">Leave out the last partial step of an epoch (default true).</param>
public sealed record RunCreateBody(string? Run, int? GlobalBatchSize, bool? DropRemainder);
