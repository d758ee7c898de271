namespace OrleansShards.Core;

/// <summary>
/// How much of a topic partition the built-in log keeps: at most <see cref="MaxRecords"/> records and none older
/// than <see cref="MaxAge"/>, but never a record a running job on the topic has not committed yet. Pure: the caller
/// looks up the partition's bounds, the offset for the age limit (<see cref="ILogStore.FindOffsetAsync"/> at
/// <see cref="AgeCutoff"/>) and the jobs' lowest committed offset, and truncates where <see cref="TruncatePoint"/> says.
/// </summary>
[GenerateSerializer, Immutable, Alias("shards.LogRetention")]
public sealed record LogRetention
{
    /// <summary>Keeps everything.</summary>
    public static readonly LogRetention Unlimited = new(null, null);

    /// <summary>Creates a policy; a <see langword="null"/> limit is no limit.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit that is not positive.</exception>
    public LogRetention(long? maxRecords, TimeSpan? maxAge)
    {
        if (maxRecords is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRecords), maxRecords, "The most records retained must be at least 1 (or no limit).");
        }

        if (maxAge is { } age && age <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAge), maxAge, "The age limit of retained records must be positive (or no limit).");
        }

        MaxRecords = maxRecords;
        MaxAge = maxAge;
    }

    /// <summary>The most records kept per partition, or <see langword="null"/> for no count limit.</summary>
    [Id(0)]
    public long? MaxRecords { get; }

    /// <summary>The oldest a record may be (by append time), or <see langword="null"/> for no age limit.</summary>
    [Id(1)]
    public TimeSpan? MaxAge { get; }

    /// <summary>The append time below which records are too old at <paramref name="now"/>, or <see langword="null"/> without an age limit.</summary>
    public DateTimeOffset? AgeCutoff(DateTimeOffset now) => MaxAge is { } age ? now - age : null;

    /// <summary>
    /// The offset to truncate the partition before. Equal to <see cref="PartitionBounds.FirstRetained"/> when nothing
    /// is to be removed; never below it, never above the high-water mark, never above <paramref name="lowestCommittedOffset"/>.
    /// </summary>
    /// <param name="bounds">The partition's retained range now.</param>
    /// <param name="ageOffset">The first offset appended at or after <see cref="AgeCutoff"/>, or <see langword="null"/> without an age limit.</param>
    /// <param name="lowestCommittedOffset">
    /// The lowest committed offset of the running jobs reading this partition (records below it are consumed by all
    /// of them), or <see langword="null"/> when no job reads it.
    /// </param>
    public long TruncatePoint(PartitionBounds bounds, long? ageOffset, long? lowestCommittedOffset)
    {
        var point = bounds.FirstRetained;
        if (MaxRecords is { } maxRecords && bounds.HighWatermark - maxRecords > point)
        {
            point = bounds.HighWatermark - maxRecords;
        }

        if (MaxAge is not null && ageOffset is { } age && age > point)
        {
            point = age;
        }

        point = Math.Min(point, bounds.HighWatermark);
        if (lowestCommittedOffset is { } committed && committed < point)
        {
            point = committed;
        }

        return Math.Max(point, bounds.FirstRetained);
    }
}
