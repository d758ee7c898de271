namespace OrleansShards.GrainInterfaces;

/// <summary>The HTTP answer for one report of a batch (<c>POST /v1/jobs/{id}/reports</c> with <c>reports</c>); the job answers <see cref="ReportVerdict"/> and the silo maps it.</summary>
/// <param name="TaskId">The task reported on.</param>
/// <param name="LeaseId">The lease named.</param>
/// <param name="Status">As the single report's HTTP status would be: 200 recorded or duplicate, 404 unknown task, 409 stale lease.</param>
/// <param name="Accepted">The report changed the job.</param>
/// <param name="Duplicate">The same report arrived before; nothing changed.</param>
/// <param name="Detail">Why, when it was not recorded.</param>
[GenerateSerializer, Immutable, Alias("shards.ReportOutcome")]
public sealed record ReportOutcome(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string LeaseId,
    [property: Id(2)] int Status,
    [property: Id(3)] bool Accepted,
    [property: Id(4)] bool Duplicate,
    [property: Id(5)] string? Detail = null);
