namespace OrleansShards.Silo.Http;

/// <summary>Body of <c>POST /v1/jobs/{id}/leases</c>.</summary>
/// <param name="WorkerId">The worker asking.</param>
/// <param name="MaxTasks">At most this many leases (default 1).</param>
/// <param name="RequestId">A client id of the request: a retry with the same id gets the same leases.</param>
public sealed record LeaseBody(string? WorkerId, int? MaxTasks, string? RequestId);

/// <summary>Body of <c>POST /v1/jobs/{id}/reports</c>.</summary>
/// <param name="TaskId">The task reported on.</param>
/// <param name="LeaseId">The lease the worker holds.</param>
/// <param name="WorkerId">The worker reporting.</param>
/// <param name="Outcome"><c>done</c> or <c>failed</c>.</param>
/// <param name="Error">Why the task failed.</param>
/// <param name="Reports">Instead of one report, several, recorded with one durable write.</param>
public sealed record ReportBody(string? TaskId, string? LeaseId, string? WorkerId, string? Outcome, string? Error, IReadOnlyList<ReportBody>? Reports = null);

/// <summary>Body of <c>POST /v1/jobs/{id}/heartbeats</c> and <c>/releases</c>.</summary>
/// <param name="WorkerId">The worker that holds the leases.</param>
/// <param name="LeaseIds">The leases.</param>
public sealed record LeasesBody(string? WorkerId, IReadOnlyList<string>? LeaseIds);
