namespace OrleansShards.Silo.Http;

/// <summary>A lease in flight as the status page shows it.</summary>
/// <param name="TaskId">The task (<c>e{epoch}.p{partition}.{start}-{end}</c>).</param>
/// <param name="LeaseId">The lease.</param>
/// <param name="WorkerId">The worker holding it.</param>
/// <param name="Attempt">Which attempt at the shard, from 1.</param>
/// <param name="ExpiresAt">When it expires unless renewed.</param>
public sealed record LeaseView(string TaskId, string LeaseId, string WorkerId, int Attempt, DateTimeOffset ExpiresAt);
