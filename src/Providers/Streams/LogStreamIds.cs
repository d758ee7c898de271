using System.Globalization;

namespace OrleansShards.Providers.Streams;

/// <summary>
/// The stream of a topic partition: one stream per partition, its namespace the topic and its key the partition
/// number. Subscribe to <c>streamProvider.GetStream&lt;LogStreamRecord&gt;(LogStreamIds.For(topic, partition))</c>.
/// </summary>
public static class LogStreamIds
{
    /// <summary>The stream of <paramref name="partition"/> of <paramref name="topic"/>.</summary>
    public static StreamId For(string topic, int partition)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        return StreamId.Create(topic, partition.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The topic and partition of a stream made by <see cref="For"/>; false for any other stream.</summary>
    public static bool TryParse(StreamId streamId, out string topic, out int partition)
    {
        topic = streamId.GetNamespace() ?? string.Empty;
        return int.TryParse(streamId.GetKeyAsString(), NumberStyles.None, CultureInfo.InvariantCulture, out partition) && topic.Length > 0;
    }
}
