namespace OrleansShards.Client;

/// <summary>How <see cref="ShardsClient.ReadRunAsync"/> walks a rank's steps.</summary>
public sealed class RunReadOptions
{
    /// <summary>The first step; the run's <see cref="TrainingRun.ResumeAt"/> when null (the step after the last commit).</summary>
    public RunStep? From { get; set; }

    /// <summary>Stop at the end of the epoch the enumeration started in, instead of at the end of the job.</summary>
    public bool SingleEpoch { get; set; }

    /// <summary>The columns to fetch (all when null or empty).</summary>
    public IReadOnlyList<string>? Columns { get; set; }

    /// <summary>JSON (default) or Arrow.</summary>
    public BatchFormat Format { get; set; } = BatchFormat.Json;

    /// <summary>
    /// How long the server may hold a request for a live step that is not full before answering it empty
    /// (<c>waitMs</c>); the server's default when null.
    /// </summary>
    public TimeSpan? Wait { get; set; }

    /// <summary>
    /// The wait before asking again for a live step that came back empty without a <c>retryAfterMs</c>. Default 200 ms.
    /// </summary>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Requests kept in flight ahead of the batch the caller holds, so the next batch is on its way while the
    /// trainer computes on this one. 0 fetches a step only when it is asked for. Default 1.
    /// </summary>
    public int Prefetch { get; set; } = 1;
}

/// <summary>The answer of <c>GET /v1/jobs/{id}/runs</c>.</summary>
internal sealed record TrainingRunList(IReadOnlyList<TrainingRun> Runs);
