namespace OrleansShards.GrainInterfaces;

/// <summary>The answer to a report.</summary>
/// <param name="Accepted">The report changed the job.</param>
/// <param name="Duplicate">The same report arrived before; nothing changed.</param>
[GenerateSerializer, Immutable, Alias("shards.ReportResponse")]
public sealed record ReportResponse([property: Id(0)] bool Accepted, [property: Id(1)] bool Duplicate);
