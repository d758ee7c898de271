namespace OrleansShards.Grains;

/// <summary>How a run's batches were served on this silo: fetches, prefetch hits and latency percentiles.</summary>
/// <param name="Fetches">Batches served.</param>
/// <param name="PrefetchHits">Batches whose every shard was in memory.</param>
/// <param name="LatencyP50Ms">The median time to assemble a batch, over the last fetches.</param>
/// <param name="LatencyP99Ms">The 99th percentile of that time.</param>
public sealed record RunServingStats(long Fetches, long PrefetchHits, double? LatencyP50Ms, double? LatencyP99Ms);
