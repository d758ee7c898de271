namespace OrleansShards.Client;

/// <summary>The last commit of a run: the step the trainer's durable checkpoint holds.</summary>
/// <param name="Epoch">The committed step's epoch.</param>
/// <param name="Step">The committed step.</param>
/// <param name="Checkpoint">The name the trainer gave the checkpoint, if any; a rewind may name it.</param>
public sealed record CommittedStep(int Epoch, long Step, string? Checkpoint);
