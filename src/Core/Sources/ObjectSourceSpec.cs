namespace OrleansShards.Core.Sources;

/// <summary>The options of an object store source.</summary>
/// <param name="Connection">The name of a connection the operator defined in configuration.</param>
/// <param name="Container">The bucket (s3) or container (azureblob).</param>
/// <param name="Prefix">Only objects whose key starts with this.</param>
/// <param name="Transformer">How an object's bytes become records: one of <see cref="ObjectSourceKind.Transformers"/>.</param>
/// <param name="Distribution"><c>hash</c> or <c>pattern</c>.</param>
/// <param name="Partitions">hash: the number of partitions, or <see langword="null"/> for one per object.</param>
/// <param name="PartitionPattern">pattern: a regular expression whose first group is the partition number.</param>
/// <param name="Watch">Whether later objects become new shards (the job is then live).</param>
public sealed record ObjectSourceSpec(
    string Connection, string Container, string Prefix, string Transformer, string Distribution, int? Partitions, string? PartitionPattern, bool Watch);
