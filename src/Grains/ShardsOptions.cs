namespace OrleansShards.Grains;

/// <summary>Server settings the grains need, bound from the <c>Shards</c> configuration section.</summary>
public sealed class ShardsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards";

    /// <summary>The name of the grain storage provider that holds job and splitter state.</summary>
    public const string StorageName = "shards";

    /// <summary>The data directory: relative source paths resolve under it, and the embedded state lives in it.</summary>
    public string DataDir { get; set; } = "data";

    /// <summary>More directories that sources may read from.</summary>
    public List<string> DataRoots { get; set; } = [];

    /// <summary>
    /// Files and directories of the server's own state and log, never read as sources even under a root (the server
    /// adds the ones it configures; <c>{DataDir}/state</c> is always excluded).
    /// </summary>
    public List<string> StatePaths { get; set; } = [];

    /// <summary>The bounds of globs, Arrow answers and topic pages (<c>Shards:Reads</c>).</summary>
    public OrleansShards.Readers.ReadLimits Reads { get; set; } = new();

    /// <summary>Records in a page of <c>GET .../records</c> when the request gives no limit.</summary>
    public int DefaultPageSize { get; set; } = 10_000;

    /// <summary>The largest page a request may ask for.</summary>
    public int MaxPageSize { get; set; } = 1_000_000;

    /// <summary>
    /// Bytes (estimated) of whole shards kept in memory so that a shuffled shard read page by page is read once
    /// (<see cref="OrleansShards.Readers.ShardBatchCache"/>); 0 reads the shard again for each page.
    /// </summary>
    public long ShardCacheBytes { get; set; } = 256L << 20;

    /// <summary>How long a cached shard that no page asked for is kept.</summary>
    public TimeSpan ShardCacheIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the HTTP records route keeps a job's read plan before asking the job again (it asks at once for a
    /// task beyond the plan, and after a delete, create or import through this silo); zero asks for every page.
    /// </summary>
    public TimeSpan ReadPlanLifetime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a job looks for expired leases, at most.</summary>
    public TimeSpan ExpiryScanPeriod { get; set; } = TimeSpan.FromSeconds(1);
}
