namespace OrleansShards.Silo.Http;

/// <summary>Body of <c>POST /v1/jobs/{id}/runs/{run}/commits</c>.</summary>
/// <param name="Epoch">The epoch of the committed step.</param>
/// <param name="Step">The committed step.</param>
/// <param name="Checkpoint">The trainer's name of the checkpoint that holds the step.</param>
public sealed record RunCommitBody(int? Epoch, long? Step, string? Checkpoint);
