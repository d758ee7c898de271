namespace OrleansShards.Core;

/// <summary>What a retry of dead letters did (<c>POST /v1/jobs/{id}/dead-letters/retry</c>).</summary>
/// <param name="Retried">Tasks back in the queue, each with a fresh count of attempts.</param>
/// <param name="NotRetried">Tasks named that could not be retried, each with the reason.</param>
[GenerateSerializer, Immutable, Alias("shards.DeadLetterRetry")]
public sealed record DeadLetterRetry([property: Id(0)] IReadOnlyList<string> Retried, [property: Id(1)] IReadOnlyList<TaskNotRetried> NotRetried);
