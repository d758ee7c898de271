namespace OrleansShards.Core;

/// <summary>The source of a checkpointed job: the whitelisted fields of <see cref="SourceSpec"/>.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointSource")]
public sealed record CheckpointSource
{
    /// <summary>The source kind.</summary>
    [Id(0)] public string? Kind { get; init; }

    /// <summary>The paths or patterns as the job named them.</summary>
    [Id(1)] public IReadOnlyList<string>? Paths { get; init; }

    /// <summary>CSV: whether the first row names the columns.</summary>
    [Id(2)] public bool? Header { get; init; }

    /// <summary>CSV: the field delimiter.</summary>
    [Id(3)] public string? Delimiter { get; init; }

    /// <summary>sqlite: the database file as the job named it.</summary>
    [Id(4)] public string? Path { get; init; }

    /// <summary>SQL kinds: the table.</summary>
    [Id(5)] public string? Table { get; init; }

    /// <summary>SQL kinds: the key column.</summary>
    [Id(6)] public string? KeyColumn { get; init; }

    /// <summary>postgres and object kinds: the <em>name</em> of the operator's connection (never its connection string or secret).</summary>
    [Id(7)] public string? Connection { get; init; }

    /// <summary>s3: the bucket.</summary>
    [Id(8)] public string? Bucket { get; init; }

    /// <summary>azureblob: the container.</summary>
    [Id(9)] public string? Container { get; init; }

    /// <summary>Object kinds: the key prefix.</summary>
    [Id(10)] public string? Prefix { get; init; }

    /// <summary>Object kinds: the transformer.</summary>
    [Id(11)] public string? Transformer { get; init; }

    /// <summary>Object kinds: the distribution strategy.</summary>
    [Id(12)] public string? Distribution { get; init; }

    /// <summary>Object kinds: the number of partitions of the hash distribution.</summary>
    [Id(13)] public int? Partitions { get; init; }

    /// <summary>Object kinds: the pattern of the pattern distribution.</summary>
    [Id(14)] public string? PartitionPattern { get; init; }

    /// <summary>topic: the topic of the built-in log.</summary>
    [Id(15)] public string? Topic { get; init; }

    /// <summary>redisstreams: the stream keys.</summary>
    [Id(16)] public IReadOnlyList<string>? Keys { get; init; }

    /// <summary>Object kinds: whether objects added later become new shards.</summary>
    [Id(17)] public bool? Watch { get; init; }
}
