namespace OrleansShards.GrainInterfaces;

/// <summary>The lifecycle state of a job as clients see it.</summary>
public static class JobStates
{
    /// <summary>Leases are handed out.</summary>
    public const string Running = "running";

    /// <summary>Every epoch ended and no shard was dead-lettered.</summary>
    public const string Completed = "completed";

    /// <summary>Every epoch ended and some shards were dead-lettered.</summary>
    public const string Failed = "failed";

    /// <summary>No new leases; in-flight ones may finish.</summary>
    public const string Paused = "paused";

    /// <summary>Leases refused; state kept.</summary>
    public const string Cancelled = "cancelled";
}
