namespace OrleansShards.GrainInterfaces.Http;

/// <summary>The values of <see cref="ReportBody.Outcome"/> on the wire.</summary>
public static class ReportOutcomes
{
    /// <summary>The task's records were processed.</summary>
    public const string Done = "done";

    /// <summary>The task failed; it goes back to the queue or to the dead letters.</summary>
    public const string Failed = "failed";
}
