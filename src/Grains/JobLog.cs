using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// Structured log events of a job's task book: each carries <c>JobId</c>, and the task id
/// (<c>e{epoch}.p{partition}.{start}-{end}</c>, which names the shard) and worker where one is
/// involved, as named properties a log pipeline can index and filter on.
/// </summary>
public static partial class JobLog
{
    /// <summary>Logs the leases a worker got, at debug level (one event per lease call, not per task).</summary>
    public static void Leased(ILogger logger, string jobId, string workerId, IReadOnlyList<GrantedLease> granted)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(granted);
        if (granted.Count > 0 && logger.IsEnabled(LogLevel.Debug))
        {
            LogLeased(logger, jobId, granted.Count, workerId, string.Join(",", granted.Select(l => l.TaskId)));
        }
    }

    /// <summary>Logs a report the job accepted: done at debug level, failed as a warning with the worker's error.</summary>
    public static void Reported(ILogger logger, string jobId, TaskReport report)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(report);
        if (report.Done)
        {
            LogDone(logger, jobId, report.TaskId, report.LeaseId, report.WorkerId);
        }
        else
        {
            LogFailed(logger, jobId, report.TaskId, report.LeaseId, report.WorkerId, report.Error ?? "(no error given)");
        }
    }

    /// <summary>Logs the reports of a batch whose outcome (at the same index) says the job accepted them.</summary>
    public static void Reported(ILogger logger, string jobId, IReadOnlyList<TaskReport> reports, IReadOnlyList<ReportVerdict> outcomes)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(outcomes);
        for (var i = 0; i < Math.Min(reports.Count, outcomes.Count); i++)
        {
            if (outcomes[i].Accepted)
            {
                Reported(logger, jobId, reports[i]);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId}: {Count} leases to worker {WorkerId}: tasks {TaskIds}")]
    private static partial void LogLeased(ILogger logger, string jobId, int count, string workerId, string taskIds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId}: task {TaskId} done (lease {LeaseId}, worker {WorkerId})")]
    private static partial void LogDone(ILogger logger, string jobId, string taskId, string leaseId, string workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: task {TaskId} failed on worker {WorkerId} (lease {LeaseId}): {Error}")]
    private static partial void LogFailed(ILogger logger, string jobId, string taskId, string leaseId, string workerId, string error);

    /// <summary>Logs that dead letters went back to the queue by an operator's request.</summary>
    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: {Count} dead-lettered task(s) re-queued with a fresh count of attempts")]
    public static partial void DeadLettersRetried(ILogger logger, string jobId, int count);
}
