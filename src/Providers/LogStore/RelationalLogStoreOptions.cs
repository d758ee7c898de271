namespace OrleansShards.Providers.LogStore;

/// <summary>Options shared by the relational log stores. Plain values, so they bind from configuration.</summary>
public abstract class RelationalLogStoreOptions
{
    /// <summary>Default for <see cref="PollInterval"/>.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>Default for <see cref="MaxBatchSize"/>.</summary>
    public const int DefaultMaxBatchSize = 1024;

    /// <summary>
    /// How often a waiter for appends looks at the database for appends made by other processes (appends through
    /// the same store instance wake it at once). 25 ms by default: a stream subscriber fed by a receiver in another
    /// silo than the append then still gets a record within 50 ms at the 99th percentile on loopback. Each poll is one
    /// indexed query per topic waited on; raise it where that matters more than latency.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>Most writes (appends, topic changes) committed in one transaction. 1024 by default.</summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option at fault.</summary>
    public virtual void Validate()
    {
        if (PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{GetType().Name}.{nameof(PollInterval)} must be positive, not {PollInterval}.");
        }

        if (MaxBatchSize < 1)
        {
            throw new ArgumentException($"{GetType().Name}.{nameof(MaxBatchSize)} must be at least 1, not {MaxBatchSize}.");
        }
    }
}
