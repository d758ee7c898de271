namespace OrleansShards.Core;

/// <summary>A checkpoint read back: what a job needs to continue from it.</summary>
/// <param name="Spec">The normalised spec, without an id.</param>
/// <param name="Catalog">The shard catalogue of the checkpoint's files.</param>
/// <param name="Book">The task book state, with the leases that were in flight re-queued.</param>
/// <param name="RequeuedFromDoing">The shards (global indexes) that were in flight and are now re-queued.</param>
public sealed record CheckpointRestore(JobSpec Spec, ShardCatalog Catalog, TaskBookState Book, IReadOnlyList<long> RequeuedFromDoing);
