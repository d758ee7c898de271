namespace OrleansShards.Client;

/// <summary>What <see cref="ShardsClient.ProcessAsync"/> did.</summary>
/// <param name="Done">Tasks reported done and accepted.</param>
/// <param name="Failed">Tasks reported failed.</param>
/// <param name="Lost">Tasks whose lease was lost (expired and handed to another worker) before the report.</param>
/// <param name="JobState">The job's state when the loop stopped, when known.</param>
public sealed record ConsumeSummary(int Done, int Failed, int Lost, string? JobState);
