namespace OrleansShards.Core;

/// <summary>A task named in a retry of dead letters that was not retried.</summary>
/// <param name="TaskId">The task as named.</param>
/// <param name="Reason">Why: not a dead letter, or a dead letter of an epoch that has ended.</param>
[GenerateSerializer, Immutable, Alias("shards.TaskNotRetried")]
public sealed record TaskNotRetried([property: Id(0)] string TaskId, [property: Id(1)] string Reason);
