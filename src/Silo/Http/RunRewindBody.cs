namespace OrleansShards.Silo.Http;

/// <summary>Body of <c>POST /v1/jobs/{id}/runs/{run}/rewind</c>: a checkpoint name, or an epoch and a step.</summary>
/// <param name="Checkpoint">The name of a kept commit.</param>
/// <param name="Epoch">The epoch of a kept commit.</param>
/// <param name="Step">The step of a kept commit.</param>
public sealed record RunRewindBody(string? Checkpoint, int? Epoch, long? Step);
