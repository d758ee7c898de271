using System.Text.Json;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>The answer of <c>GET /v1/jobs</c> (for the OpenAPI document).</summary>
/// <param name="Jobs">Every job's status.</param>
public sealed record JobListAnswer(IReadOnlyList<JobStatus> Jobs);

/// <summary>The answer of <c>POST /v1/jobs/{id}/heartbeats</c> (for the OpenAPI document).</summary>
/// <param name="Leases">Each lease's new expiry; null when the worker no longer holds it.</param>
public sealed record HeartbeatAnswer(IReadOnlyList<LeaseRenewal> Leases);

/// <summary>The answer of <c>POST /v1/jobs/{id}/releases</c> (for the OpenAPI document).</summary>
/// <param name="Released">The leases that ended now.</param>
public sealed record ReleaseAnswer(int Released);

/// <summary>
/// The answer of <c>POST /v1/jobs/{id}/reports</c> (for the OpenAPI document): <c>accepted</c> and <c>duplicate</c>
/// for one report, <c>results</c> (one outcome a report, in the order sent) for a body of <c>reports</c>.
/// </summary>
/// <param name="Accepted">One report: it changed the job.</param>
/// <param name="Duplicate">One report: the same report arrived before; nothing changed.</param>
/// <param name="Results">Several reports: each one's outcome, with the status its single report would have had.</param>
public sealed record ReportAnswer(bool? Accepted, bool? Duplicate, IReadOnlyList<ReportOutcome>? Results);

/// <summary>The JSON answer of <c>GET /v1/jobs/{id}/tasks/{taskId}/records</c> (for the OpenAPI document).</summary>
/// <param name="Records">The records of the page, one JSON object of columns each.</param>
/// <param name="NextOffset">The offset of the next page, present only when records of the shard remain.</param>
public sealed record RecordsAnswer(IReadOnlyList<JsonElement> Records, long? NextOffset);
