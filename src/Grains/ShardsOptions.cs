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

    /// <summary>Records in a page of <c>GET .../records</c> when the request gives no limit.</summary>
    public int DefaultPageSize { get; set; } = 10_000;

    /// <summary>The largest page a request may ask for.</summary>
    public int MaxPageSize { get; set; } = 1_000_000;

    /// <summary>How often a job looks for expired leases, at most.</summary>
    public TimeSpan ExpiryScanPeriod { get; set; } = TimeSpan.FromSeconds(1);
}
