namespace OrleansShards.Core;

/// <summary>A shard that was leased more than once in an epoch.</summary>
[GenerateSerializer, Alias("shards.RetryRecord")]
public sealed class RetryRecord
{
    /// <summary>The key of a shard in an epoch.</summary>
    public static string KeyOf(int epoch, long shard) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{epoch}:{shard}");

    /// <summary>The epoch.</summary>
    [Id(0)] public int Epoch { get; set; }

    /// <summary>The global shard index.</summary>
    [Id(1)] public long Shard { get; set; }

    /// <summary>Failed or expired attempts so far.</summary>
    [Id(2)] public int FailedAttempts { get; set; }

    /// <summary>Leases handed out for the shard so far, released ones included.</summary>
    [Id(3)] public int Leases { get; set; }

    /// <summary>The last error reported, if any.</summary>
    [Id(4)] public string? LastError { get; set; }

    /// <summary>The lease whose report completed the shard, once done.</summary>
    [Id(5)] public string? CompletedBy { get; set; }

    /// <summary>The key of this record.</summary>
    public string Key => KeyOf(Epoch, Shard);
}
