namespace OrleansShards.Client;

/// <summary>How <see cref="ShardsClient.ConsumeAsync"/> and <see cref="ShardsClient.ProcessAsync"/> lease and read.</summary>
public sealed class ConsumeOptions
{
    /// <summary>The worker's id, as the server records it with each lease. Default: host name, process id and a random part.</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Tasks leased with one request (1 to the server's limit). Default 1.</summary>
    public int MaxTasks { get; set; } = 1;

    /// <summary>Records per page when a task is read; null lets the server choose (at least 10,000).</summary>
    public int? BatchSize { get; set; }

    /// <summary>Only these columns are read; null reads all.</summary>
    public IReadOnlyList<string>? Columns { get; set; }

    /// <summary>
    /// How often held leases are renewed. Null (the default) renews each round at a third of the
    /// time left before the earliest lease expires, so two heartbeats can fail before one is lost.
    /// </summary>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary>The wait before asking again when no task was handed out and the server named no wait. Default 1 s.</summary>
    public TimeSpan IdleDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// End the enumeration when the job is completed, failed or cancelled (default). When false, a
    /// consumer of an ended job keeps asking until cancelled.
    /// </summary>
    public bool StopWhenJobEnds { get; set; } = true;
}
