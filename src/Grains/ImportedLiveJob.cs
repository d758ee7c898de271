using OrleansShards.Core;

namespace OrleansShards.Grains;

/// <summary>A live job read back from a checkpoint and checked against this server's source, ready to be stored.</summary>
/// <param name="Spec">The spec, with the id the job is imported as.</param>
/// <param name="Locators">Each partition's locator here (the source may have more partitions than the checkpoint).</param>
/// <param name="Book">The live task book, its bounds as this server's source holds them.</param>
public sealed record ImportedLiveJob(JobSpec Spec, IReadOnlyList<string> Locators, LiveBookState Book);
