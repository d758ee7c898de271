using OrleansShards.Core;

namespace OrleansShards.Silo.Hosting;

/// <summary>Retention of the built-in log, bound from <c>Shards:Topics</c>. Nothing is removed unless a limit is set.</summary>
public sealed class TopicRetentionSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Topics";

    /// <summary>Keep at most this many records per partition (no limit when unset).</summary>
    public long? RetainRecords { get; set; }

    /// <summary>Keep records appended within this time (no limit when unset), e.g. <c>7.00:00:00</c>.</summary>
    public TimeSpan? RetainFor { get; set; }

    /// <summary>How often retention runs.</summary>
    public TimeSpan CheckEvery { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The policy these settings describe.</summary>
    public LogRetention Policy => new(RetainRecords, RetainFor);
}
