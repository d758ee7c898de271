namespace OrleansShards.GrainInterfaces;

/// <summary>The names of a job's runs, so that <c>GET /v1/jobs/{id}/runs</c> can list them. Keyed by job id.</summary>
[Alias("OrleansShards.IJobRunsGrain")]
public interface IJobRunsGrain : IGrainWithStringKey
{
    /// <summary>Adds a run name (durable before it returns).</summary>
    [Alias("Add")]
    Task Add(string run);

    /// <summary>Removes a run name.</summary>
    [Alias("Remove")]
    Task Remove(string run);

    /// <summary>The run names, in ordinal order.</summary>
    [Alias("List")]
    Task<IReadOnlyList<string>> List();

    /// <summary>Forgets every name (the job is deleted); durable before it returns.</summary>
    [Alias("Clear")]
    Task Clear();
}
