namespace OrleansShards.GrainInterfaces;

/// <summary>A file of a job's source, as pinned when the job was created.</summary>
[GenerateSerializer, Immutable, Alias("shards.PinnedFile")]
public sealed record PinnedFile(
    [property: Id(0)] string Path,
    [property: Id(1)] long RecordCount,
    [property: Id(2)] long Length,
    [property: Id(3)] long LastWriteTimeUtcTicks,
    [property: Id(4)] ulong ContentHash);
