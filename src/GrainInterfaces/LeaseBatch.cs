namespace OrleansShards.GrainInterfaces;

/// <summary>The answer to a lease request; empty leases with <see cref="RetryAfterMs"/> when none is available now.</summary>
[GenerateSerializer, Immutable, Alias("shards.LeaseBatch")]
public sealed record LeaseBatch([property: Id(0)] IReadOnlyList<TaskLease> Leases, [property: Id(1)] string State, [property: Id(2)] int? RetryAfterMs);
