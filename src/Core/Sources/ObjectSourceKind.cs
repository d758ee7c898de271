namespace OrleansShards.Core.Sources;

/// <summary>Objects of a store, grouped into partitions and turned into records by a transformer: <c>s3</c>, <c>azureblob</c>.</summary>
public sealed class ObjectSourceKind : SourceKind<ObjectSourceSpec>
{
    /// <summary>The transformers that turn an object's bytes into records.</summary>
    public static readonly IReadOnlyList<string> Transformers = ["csv", "jsonl", "tfrecord", "raw"];

    private readonly string _containerField;

    private ObjectSourceKind(string name, string containerField)
    {
        Name = name;
        _containerField = containerField;
    }

    /// <summary>S3 (or an S3-compatible store): objects of a bucket.</summary>
    public static ObjectSourceKind S3 { get; } = new("s3", "bucket");

    /// <summary>Azure Blob Storage: blobs of a container.</summary>
    public static ObjectSourceKind AzureBlob { get; } = new("azureblob", "container");

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override bool Watches => true;

    /// <inheritdoc />
    public override bool IsLive(SourceSpec source) => source?.Watch == true;

    /// <inheritdoc />
    public override (string Field, string Reason)? Validate(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (RequireConnection(source) is { } missing)
        {
            return missing;
        }

        if (string.IsNullOrWhiteSpace(ContainerOf(source)))
        {
            return ($"source.{_containerField}", "is required");
        }

        if (source.Transformer is null || !Transformers.Contains(source.Transformer.ToLowerInvariant()))
        {
            return ("source.transformer", $"'{source.Transformer}' is not a transformer: one of {string.Join(", ", Transformers)}");
        }

        if (source.Distribution is not (null or "hash" or "pattern"))
        {
            return ("source.distribution", $"'{source.Distribution}' is neither 'hash' nor 'pattern'");
        }

        if (source.Distribution == "pattern" && string.IsNullOrWhiteSpace(source.PartitionPattern))
        {
            return ("source.partitionPattern", "is required with the 'pattern' distribution");
        }

        if (source.Watch == true && source.Distribution is null or "hash" && source.Partitions is null)
        {
            return ("source.partitions", "is required when watching with the hash distribution: objects added later must hash into a fixed number of partitions");
        }

        return source.Partitions is < 1 or > 100_000 ? ("source.partitions", "must be between 1 and 100000") : null;
    }

    /// <inheritdoc />
    public override ObjectSourceSpec Read(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new(
            source.Connection ?? "", ContainerOf(source) ?? "", source.Prefix ?? "", (source.Transformer ?? "").ToLowerInvariant(),
            source.Distribution ?? "hash", source.Partitions, source.PartitionPattern, source.Watch == true);
    }

    private string? ContainerOf(SourceSpec source) => _containerField == "bucket" ? source.Bucket : source.Container;
}
