namespace OrleansShards.Client;

/// <summary>The body of <c>POST /v1/jobs/{id}/runs</c>: a synchronous data-parallel training run over the job.</summary>
/// <param name="Run">The run's name, unique within the job.</param>
/// <param name="GlobalBatchSize">G: the records of one step over all ranks. A world size must divide it.</param>
/// <param name="DropRemainder">
/// True (the server's default when absent): an epoch has ⌊N/G⌋ steps and the rest of its records are left out.
/// False: ⌈N/G⌉ steps, the last one filled up from the start of the epoch's order.
/// </param>
public sealed record RunCreateRequest(string Run, int GlobalBatchSize, bool? DropRemainder = null);
