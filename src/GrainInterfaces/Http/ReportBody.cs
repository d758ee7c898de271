namespace OrleansShards.GrainInterfaces.Http;

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
