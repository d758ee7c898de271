namespace OrleansShards.GrainInterfaces;

/// <summary>How a create call ended.</summary>
/// <param name="Created"><see langword="true"/> when the job was created now, <see langword="false"/> when the same spec existed.</param>
/// <param name="Status">The job's status.</param>
[GenerateSerializer, Immutable, Alias("shards.CreateJobResult")]
public sealed record CreateJobResult([property: Id(0)] bool Created, [property: Id(1)] JobStatus Status);
