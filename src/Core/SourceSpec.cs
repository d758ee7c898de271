using OrleansShards.Core.Sources;
using Registry = OrleansShards.Core.Sources.SourceKinds;

namespace OrleansShards.Core;

/// <summary>
/// Where a job's records come from: one <see cref="Kind"/> field and kind-specific fields, which the kind (a
/// <see cref="SourceKind"/> of <see cref="Registry"/>) checks, fills in and reads as its typed options.
/// </summary>
/// <remarks>
/// This flat shape is the wire format of <c>"source"</c> and the stored form of every job, splitter and checkpoint:
/// fields are added with new <see cref="IdAttribute"/> numbers, never renumbered or retyped, so stored jobs load.
/// </remarks>
[GenerateSerializer, Immutable, Alias("shards.SourceSpec")]
public sealed record SourceSpec
{
    /// <summary>The source kind: one of <see cref="JobSpec.SourceKinds"/>.</summary>
    [Id(0)] public string Kind { get; init; } = "";

    /// <summary>File kinds: file paths or glob patterns, relative to the server's data directory.</summary>
    [Id(1)] public IReadOnlyList<string>? Paths { get; init; }

    /// <summary>CSV: whether the first row names the columns (default <see langword="true"/>).</summary>
    [Id(2)] public bool? Header { get; init; }

    /// <summary>CSV: the field delimiter, one character (default <c>,</c>).</summary>
    [Id(3)] public string? Delimiter { get; init; }

    /// <summary>sqlite: the database file, relative to the data directory.</summary>
    [Id(4)] public string? Path { get; init; }

    /// <summary>SQL kinds: the table (optionally <c>schema.table</c>).</summary>
    [Id(5)] public string? Table { get; init; }

    /// <summary>SQL kinds: the unique, ordered key column shards are ranges of.</summary>
    [Id(6)] public string? KeyColumn { get; init; }

    /// <summary>postgres, s3, azureblob: the name of a connection the operator defined in configuration (jobs never carry credentials).</summary>
    [Id(7)] public string? Connection { get; init; }

    /// <summary>s3: the bucket.</summary>
    [Id(8)] public string? Bucket { get; init; }

    /// <summary>azureblob: the container.</summary>
    [Id(9)] public string? Container { get; init; }

    /// <summary>Object kinds: only objects whose key starts with this.</summary>
    [Id(10)] public string? Prefix { get; init; }

    /// <summary>Object kinds: how an object's bytes become records: csv, jsonl, tfrecord or raw (one record per object).</summary>
    [Id(11)] public string? Transformer { get; init; }

    /// <summary>Object kinds: how objects are assigned to partitions: <c>hash</c> (of the key, default) or <c>pattern</c>.</summary>
    [Id(12)] public string? Distribution { get; init; }

    /// <summary>Object kinds, <c>hash</c> distribution: the number of partitions (default: one per object).</summary>
    [Id(13)] public int? Partitions { get; init; }

    /// <summary>Object kinds, <c>pattern</c> distribution: a regular expression whose first group is the partition number in the object key.</summary>
    [Id(14)] public string? PartitionPattern { get; init; }

    /// <summary>topic: the topic of the built-in log.</summary>
    [Id(15)] public string? Topic { get; init; }

    /// <summary>redisstreams: the stream keys, one partition each, in partition order.</summary>
    [Id(16)] public IReadOnlyList<string>? Keys { get; init; }

    /// <summary>Object kinds: keep listing the prefix, so objects added later become new shards (the job is then live).</summary>
    [Id(17)] public bool? Watch { get; init; }

    /// <summary>
    /// csv: types of columns by name, <c>string</c>, <c>int64</c>, <c>float64</c> or <c>bool</c>; a column not named is
    /// text. Typed values come as JSON numbers or booleans and typed Arrow columns; one that does not parse fails its
    /// shard with an error naming the file, the record and the column.
    /// </summary>
    [Id(18)] public IReadOnlyDictionary<string, string>? Columns { get; init; }
}
