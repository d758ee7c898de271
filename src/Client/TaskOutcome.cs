namespace OrleansShards.Client;

/// <summary>How a leased task was reported.</summary>
public enum TaskOutcome
{
    /// <summary>Not reported yet.</summary>
    Pending,

    /// <summary>Reported done.</summary>
    Done,

    /// <summary>Reported failed.</summary>
    Failed,

    /// <summary>The lease ended before a report: it expired and went to another worker, or it was released.</summary>
    Lost,
}
