using System.Text.Json;

namespace OrleansShards.GrainInterfaces.Http;

// The request bodies and answers of the HTTP API (docs/http-api.md), shared by the server and the .NET client so the two
// cannot drift. Serialised with the web defaults (camelCase) and nulls left out.

/// <summary>The answer of <c>GET /v1/jobs</c>.</summary>
/// <param name="Jobs">Every job's status.</param>
public sealed record JobListAnswer(IReadOnlyList<JobStatus> Jobs);

/// <summary>The answer of <c>POST /v1/jobs/{id}/heartbeats</c>.</summary>
/// <param name="Leases">Each lease's new expiry; null when the worker no longer holds it.</param>
public sealed record HeartbeatAnswer(IReadOnlyList<LeaseRenewal> Leases);

/// <summary>The answer of <c>POST /v1/jobs/{id}/releases</c>.</summary>
/// <param name="Released">The leases that ended now.</param>
public sealed record ReleaseAnswer(int Released);

/// <summary>
/// The answer of <c>POST /v1/jobs/{id}/reports</c>: <c>accepted</c> and <c>duplicate</c> for one report,
/// <c>results</c> (one outcome a report, in the order sent) for a body of <c>reports</c>.
/// </summary>
/// <param name="Accepted">One report: it changed the job.</param>
/// <param name="Duplicate">One report: the same report arrived before; nothing changed.</param>
/// <param name="Results">Several reports: each one's outcome, with the status its single report would have had.</param>
public sealed record ReportAnswer(bool? Accepted, bool? Duplicate, IReadOnlyList<ReportOutcome>? Results);

/// <summary>The JSON answer of <c>GET /v1/jobs/{id}/tasks/{taskId}/records</c>.</summary>
/// <param name="Records">The records of the page, one JSON object of columns each.</param>
/// <param name="NextOffset">The offset of the next page, present only when records of the shard remain.</param>
public sealed record RecordsAnswer(IReadOnlyList<JsonElement> Records, long? NextOffset);

/// <summary>Body of <c>POST /v1/jobs/{id}/leases</c>.</summary>
/// <param name="WorkerId">The worker asking.</param>
/// <param name="MaxTasks">At most this many leases (default 1).</param>
/// <param name="RequestId">A client id of the request: a retry with the same id gets the same leases.</param>
public sealed record LeaseBody(string? WorkerId, int? MaxTasks, string? RequestId);

/// <summary>Body of <c>POST /v1/jobs/{id}/reports</c>.</summary>
/// <param name="TaskId">The task reported on.</param>
/// <param name="LeaseId">The lease the worker holds.</param>
/// <param name="WorkerId">The worker reporting.</param>
/// <param name="Outcome"><c>done</c> or <c>failed</c> (<see cref="ReportOutcomes"/>).</param>
/// <param name="Error">Why the task failed.</param>
/// <param name="Reports">Instead of one report, several, recorded with one durable write.</param>
public sealed record ReportBody(string? TaskId, string? LeaseId, string? WorkerId, string? Outcome, string? Error, IReadOnlyList<ReportBody>? Reports = null)
{
    /// <summary>The body of one report.</summary>
    public static ReportBody Of(TaskReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new(report.TaskId, report.LeaseId, report.WorkerId, report.Done ? ReportOutcomes.Done : ReportOutcomes.Failed, report.Error);
    }
}

/// <summary>The values of <see cref="ReportBody.Outcome"/> on the wire.</summary>
public static class ReportOutcomes
{
    /// <summary>The task's records were processed.</summary>
    public const string Done = "done";

    /// <summary>The task failed; it goes back to the queue or to the dead letters.</summary>
    public const string Failed = "failed";
}

/// <summary>Body of <c>POST /v1/jobs/{id}/heartbeats</c> and <c>/releases</c>.</summary>
/// <param name="WorkerId">The worker that holds the leases.</param>
/// <param name="LeaseIds">The leases.</param>
public sealed record LeasesBody(string? WorkerId, IReadOnlyList<string>? LeaseIds);

/// <summary>Body of <c>POST /v1/topics</c>.</summary>
/// <param name="Name">The topic name: 1 to 128 letters, digits, '-', '_' or '.'.</param>
/// <param name="Partitions">The number of partitions (1 to 10,000).</param>
public sealed record CreateTopicBody(string? Name, int? Partitions);

/// <summary>Body of <c>POST /v1/topics/{t}/partitions</c>: grow the topic to this many partitions.</summary>
/// <param name="Partitions">The new number of partitions; never fewer than now.</param>
public sealed record AddPartitionsBody(int? Partitions);
