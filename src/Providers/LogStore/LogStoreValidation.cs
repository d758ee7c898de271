using OrleansShards.Core;

namespace OrleansShards.Providers.LogStore;

/// <summary>The checks every log store call makes on its arguments, and the errors that name what is missing.</summary>
internal static class LogStoreValidation
{
    internal const int MaxTopicNameLength = 255;
    internal const int MaxPartitions = 65_536;

    internal static void ValidateTopic(string topic)
    {
        if (string.IsNullOrWhiteSpace(topic))
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, "the topic name must not be empty");
        }

        if (topic.Length > MaxTopicNameLength)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, $"the topic name '{topic[..32]}...' is {topic.Length} characters long; at most {MaxTopicNameLength} are allowed");
        }

        foreach (var c in topic)
        {
            if (char.IsControl(c))
            {
                throw new LogStoreException(ShardsErrorKind.Invalid, $"the topic name '{topic.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a control character");
            }
        }
    }

    internal static void ValidatePartition(int partition)
    {
        if (partition < 0)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, $"partition numbers start at 0; {partition} is not one");
        }
    }

    internal static void ValidatePartitionCount(int partitions, string name)
    {
        if (partitions is < 1 or > MaxPartitions)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid, $"{name} must be between 1 and {MaxPartitions}, not {partitions}");
        }
    }

    internal static LogStoreException TopicNotFound(string topic) =>
        new(ShardsErrorKind.NotFound, $"topic '{topic}' does not exist");

    internal static LogStoreException PartitionNotFound(string topic, int partition, int partitions) =>
        new(ShardsErrorKind.NotFound, $"topic '{topic}' has {partitions} partition(s), numbered 0 to {partitions - 1}; partition {partition} does not exist");
}
