namespace OrleansShards.Grains;

/// <summary>Settings of training runs' batch serving, bound from <c>Shards:Runs</c>.</summary>
public sealed class RunOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Runs";

    /// <summary>How many steps after the highest step asked for the silo reads ahead (0: no prefetch).</summary>
    public int PrefetchSteps { get; set; } = 4;

    /// <summary>The most bytes (estimated from the pinned files' sizes) one run's read-ahead may load per step asked for.</summary>
    public long PrefetchBytes { get; set; } = 256L << 20;

    /// <summary>The most bytes (estimated) of decoded shards the silo keeps in memory for all runs; least recently used go first.</summary>
    public long CacheBytes { get; set; } = 1L << 30;

    /// <summary>Live runs: the longest a batch request waits for its step to fill (a larger <c>waitMs</c> is cut to it).</summary>
    public int LiveMaxWaitMs { get; set; } = 30_000;

    /// <summary>Live runs: the <c>retryAfterMs</c> of a step not full after <c>waitMs</c>.</summary>
    public int LiveRetryAfterMs { get; set; } = 250;
}
