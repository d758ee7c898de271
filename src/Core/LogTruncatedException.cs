namespace OrleansShards.Core;

/// <summary>A read below the first retained offset: the records asked for were removed by retention.</summary>
[GenerateSerializer, Alias("shards.LogTruncatedException")]
public sealed class LogTruncatedException : LogStoreException
{
    /// <summary>Creates the exception.</summary>
    public LogTruncatedException(string topic, int partition, long requested, long firstRetained)
        : base(ShardsErrorKind.Invalid, $"topic '{topic}' partition {partition}: offset {requested} is below the first retained offset {firstRetained}")
    {
        FirstRetained = firstRetained;
    }

    /// <summary>The lowest offset that can still be read.</summary>
    [Id(0)]
    public long FirstRetained { get; }
}
