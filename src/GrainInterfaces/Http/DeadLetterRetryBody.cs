namespace OrleansShards.GrainInterfaces.Http;

/// <summary>The body of <c>POST /v1/jobs/{id}/dead-letters/retry</c>: the tasks to retry, or none for every dead letter.</summary>
/// <param name="TaskIds">The dead-lettered tasks to retry; absent (or no body at all): every one of the current epoch.</param>
public sealed record DeadLetterRetryBody(IReadOnlyList<string>? TaskIds);
