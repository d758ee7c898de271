using System.Globalization;

namespace OrleansShards.Core;

/// <summary>
/// Task ids: deterministic names of a shard within an epoch. The same epoch, partition and range
/// always give the same id, so a re-offered or re-queued shard is recognised by its id alone.
/// </summary>
public static class TaskIds
{
    /// <summary>Formats the id of <paramref name="shard"/> in <paramref name="epoch"/>: <c>e{epoch}.p{partition}.{start}-{end}</c>.</summary>
    public static string Format(int epoch, ShardRange shard) =>
        string.Create(CultureInfo.InvariantCulture, $"e{epoch}.p{shard.Partition}.{shard.Start}-{shard.End}");

    /// <summary>Parses a task id; <see langword="false"/> when it is not one.</summary>
    public static bool TryParse(string? taskId, out int epoch, out ShardRange shard)
    {
        epoch = 0;
        shard = default;
        if (string.IsNullOrEmpty(taskId) || taskId[0] != 'e')
        {
            return false;
        }

        var span = taskId.AsSpan(1);
        var dot = span.IndexOf(".p", StringComparison.Ordinal);
        if (dot <= 0 || !int.TryParse(span[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out epoch))
        {
            return false;
        }

        span = span[(dot + 2)..];
        dot = span.IndexOf('.');
        if (dot <= 0 || !int.TryParse(span[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            return false;
        }

        span = span[(dot + 1)..];
        var dash = span.IndexOf('-');
        if (dash <= 0
            || !long.TryParse(span[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(span[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var end)
            || end <= start)
        {
            return false;
        }

        shard = new ShardRange(partition, start, end);
        return true;
    }
}
