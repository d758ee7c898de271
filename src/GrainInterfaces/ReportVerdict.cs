using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>What became of one report of a batch, as the job sees it; the HTTP layer maps <see cref="Result"/> to a status.</summary>
/// <param name="TaskId">The task reported on.</param>
/// <param name="LeaseId">The lease named.</param>
/// <param name="Result">Recorded, a duplicate, a stale lease or an unknown task.</param>
/// <param name="Detail">Why, when it was not recorded.</param>
[GenerateSerializer, Immutable, Alias("shards.ReportVerdict")]
public sealed record ReportVerdict(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string LeaseId,
    [property: Id(2)] ReportResult Result,
    [property: Id(3)] string? Detail = null)
{
    /// <summary>The report changed the job.</summary>
    public bool Accepted => Result == ReportResult.Accepted;

    /// <summary>The same report arrived before; nothing changed.</summary>
    public bool Duplicate => Result == ReportResult.Duplicate;
}
