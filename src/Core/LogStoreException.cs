namespace OrleansShards.Core;

/// <summary>A refused log store operation; the message names the topic, partition or value and the reason.</summary>
[GenerateSerializer, Alias("shards.LogStoreException")]
public class LogStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LogStoreException(ShardsErrorKind kind, string message) : base(message) => Kind = kind;

    /// <summary>Why the operation was refused.</summary>
    [Id(0)]
    public ShardsErrorKind Kind { get; }
}
