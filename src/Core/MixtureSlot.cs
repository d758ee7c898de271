namespace OrleansShards.Core;

/// <summary>Where a position of a mixture's order reads from.</summary>
/// <param name="Source">The source's index in the job's sources.</param>
/// <param name="Pass">The source's pass (0 for its first pass over its records, 1 for the second: upsampling).</param>
/// <param name="Slot">The record in that pass's order of the source (shard index and partition local to the source).</param>
public readonly record struct MixtureSlot(int Source, long Pass, RunSlot Slot);
