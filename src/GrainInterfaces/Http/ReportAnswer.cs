namespace OrleansShards.GrainInterfaces.Http;

/// <summary>
/// The answer of <c>POST /v1/jobs/{id}/reports</c>: <c>accepted</c> and <c>duplicate</c> for one report,
/// <c>results</c> (one outcome a report, in the order sent) for a body of <c>reports</c>.
/// </summary>
/// <param name="Accepted">One report: it changed the job.</param>
/// <param name="Duplicate">One report: the same report arrived before; nothing changed.</param>
/// <param name="Results">Several reports: each one's outcome, with the status its single report would have had.</param>
public sealed record ReportAnswer(bool? Accepted, bool? Duplicate, IReadOnlyList<ReportOutcome>? Results);
