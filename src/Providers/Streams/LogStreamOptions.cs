namespace OrleansShards.Providers.Streams;

/// <summary>Options of the log stream provider (<c>AddShardsLogStreams</c>). Plain values, so they bind from configuration.</summary>
public sealed class LogStreamOptions
{
    /// <summary>
    /// Number of queues (pulling agents) the partitions' streams are spread over, balanced across the silos.
    /// Silos and clients of one cluster must agree on it. 8 by default.
    /// </summary>
    public int QueueCount { get; set; } = 8;

    /// <summary>Most records a receiver reads from one partition in one query. 256 by default.</summary>
    public int ReadBatchSize { get; set; } = 256;

    /// <summary>Most records a queue hands the pulling agent in one pull. 1024 by default.</summary>
    public int MaxRecordsPerPull { get; set; } = 1024;

    /// <summary>
    /// How long a receiver that found nothing new waits for an append on its partitions before it returns to the
    /// pulling agent empty-handed. Appends made through the silo's own log store wake it at once; appends made by
    /// other processes are seen at the log store's poll interval. 500 ms by default; zero turns waiting off (then
    /// only <see cref="PullPeriod"/> polling finds new records).
    /// </summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The pulling agents' timer (Orleans' <c>GetQueueMsgsTimerPeriod</c>): how soon a queue is pulled again after a
    /// pull ended. The receivers wait for appends themselves, so this bounds only the delay after a pull that ended
    /// early (a new stream being registered). 50 ms by default; Orleans' own default is 100 ms.
    /// </summary>
    public TimeSpan PullPeriod { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often a receiver lists the topics to find new ones and new partitions. 2 s by default.</summary>
    public TimeSpan TopicRefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Most recent records kept in memory per partition for subscribers that keep up; a subscriber further behind
    /// reads from the log store instead, so memory stays bounded whatever the subscribers do. 1024 by default.
    /// </summary>
    public int CachedRecordsPerPartition { get; set; } = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option at fault.</summary>
    public void Validate(string providerName)
    {
        Check(QueueCount >= 1, nameof(QueueCount), QueueCount, "at least 1");
        Check(ReadBatchSize >= 1, nameof(ReadBatchSize), ReadBatchSize, "at least 1");
        Check(MaxRecordsPerPull >= 1, nameof(MaxRecordsPerPull), MaxRecordsPerPull, "at least 1");
        Check(MaxWait >= TimeSpan.Zero, nameof(MaxWait), MaxWait, "zero or more");
        Check(PullPeriod > TimeSpan.Zero, nameof(PullPeriod), PullPeriod, "positive");
        Check(TopicRefreshInterval > TimeSpan.Zero, nameof(TopicRefreshInterval), TopicRefreshInterval, "positive");
        Check(CachedRecordsPerPartition >= 1, nameof(CachedRecordsPerPartition), CachedRecordsPerPartition, "at least 1");

        void Check(bool ok, string name, object value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentException($"Log stream provider '{providerName}': {nameof(LogStreamOptions)}.{name} must be {rule}, not {value}.");
            }
        }
    }
}
