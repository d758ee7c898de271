using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>Maps what became of a report (a domain value the job answers) onto the HTTP status its single report would have had.</summary>
internal static class ReportStatuses
{
    /// <summary>200 recorded or duplicate, 404 unknown task, 409 stale lease.</summary>
    public static int Of(ReportResult result) => result switch
    {
        ReportResult.Accepted or ReportResult.Duplicate => StatusCodes.Status200OK,
        ReportResult.UnknownTask => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status409Conflict,
    };

    /// <summary>The HTTP answer for one report of a batch.</summary>
    public static ReportOutcome ToOutcome(ReportVerdict verdict) =>
        new(verdict.TaskId, verdict.LeaseId, Of(verdict.Result), verdict.Accepted, verdict.Duplicate, verdict.Detail);
}
