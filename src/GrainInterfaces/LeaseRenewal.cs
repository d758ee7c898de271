namespace OrleansShards.GrainInterfaces;

/// <summary>A renewed lease; <see cref="ExpiresAt"/> is null when the worker no longer holds it.</summary>
[GenerateSerializer, Immutable, Alias("shards.LeaseRenewal")]
public sealed record LeaseRenewal([property: Id(0)] string LeaseId, [property: Id(1)] DateTimeOffset? ExpiresAt);
