namespace OrleansShards.Core;

/// <summary>A shard given up on after <c>maxAttempts</c> failures.</summary>
[GenerateSerializer, Alias("shards.DeadLetter")]
public sealed class DeadLetter
{
    /// <summary>The epoch.</summary>
    [Id(0)] public int Epoch { get; set; }

    /// <summary>The global shard index.</summary>
    [Id(1)] public long Shard { get; set; }

    /// <summary>The shard.</summary>
    [Id(2)] public ShardRange Range { get; set; }

    /// <summary>How many attempts failed.</summary>
    [Id(3)] public int Attempts { get; set; }

    /// <summary>The last error reported or the reason of the last failure.</summary>
    [Id(4)] public string LastError { get; set; } = "";
}
