using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>A static job read back from a checkpoint and matched against this server's files, ready to be stored.</summary>
/// <param name="Spec">The spec, with the id the job is imported as.</param>
/// <param name="Files">Each partition's file as this server sees it.</param>
/// <param name="Book">The task book, the leases that were in flight re-queued.</param>
/// <param name="Requeued">How many shards in flight were re-queued.</param>
public sealed record ImportedJob(JobSpec Spec, IReadOnlyList<PinnedFile> Files, TaskBookState Book, int Requeued);
