namespace OrleansShards.Core;

/// <summary>What became of a report.</summary>
[GenerateSerializer, Alias("shards.ReportResult")]
public enum ReportResult
{
    /// <summary>The report was recorded.</summary>
    Accepted,

    /// <summary>The same report arrived before; nothing changed.</summary>
    Duplicate,

    /// <summary>The lease is no longer the one that holds the shard; nothing changed.</summary>
    StaleLease,

    /// <summary>The task id names no shard of this job.</summary>
    UnknownTask,
}
