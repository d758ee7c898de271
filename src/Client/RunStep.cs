namespace OrleansShards.Client;

/// <summary>A step of a run: the epoch, from 0, and the step within it, from 0.</summary>
/// <param name="Epoch">The epoch, from 0 (always 0 for a run over a live job).</param>
/// <param name="Step">The step within the epoch, from 0.</param>
public sealed record RunStep(int Epoch, long Step);
