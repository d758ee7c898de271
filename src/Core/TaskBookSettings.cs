namespace OrleansShards.Core;

/// <summary>How a task book hands out and takes back shards.</summary>
/// <param name="Epochs">How many passes over the data.</param>
/// <param name="Shuffle">Whether each epoch hands shards out in a seeded random order.</param>
/// <param name="Seed">The seed of the shuffle.</param>
/// <param name="LeaseTimeout">How long a lease lasts without a heartbeat.</param>
/// <param name="MaxAttempts">Failed or expired attempts after which a shard is dead-lettered.</param>
public sealed record TaskBookSettings(int Epochs, bool Shuffle, ulong Seed, TimeSpan LeaseTimeout, int MaxAttempts);
