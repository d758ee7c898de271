namespace OrleansShards.Client;

/// <summary>The retained range of one topic partition.</summary>
/// <param name="Partition">The partition number.</param>
/// <param name="FirstRetained">The oldest offset still held (retention removed the ones before it).</param>
/// <param name="HighWatermark">The offset the next appended record gets.</param>
public sealed record TopicPartitionInfo(int Partition, long FirstRetained, long HighWatermark)
{
    /// <summary>Records held: from the first retained offset up to the high-water mark.</summary>
    public long Retained => HighWatermark - FirstRetained;
}
