namespace OrleansShards.GrainInterfaces;

/// <summary>The set of job ids of the cluster, so jobs can be listed. Keyed <see cref="Key"/>.</summary>
[Alias("shards.IJobRegistryGrain")]
public interface IJobRegistryGrain : IGrainWithStringKey
{
    /// <summary>The key of the one registry.</summary>
    public const string Key = "jobs";

    /// <summary>Adds a job id.</summary>
    [Alias("Add")]
    Task Add(string jobId);

    /// <summary>Removes a job id.</summary>
    [Alias("Remove")]
    Task Remove(string jobId);

    /// <summary>Every job id, in ordinal order.</summary>
    [Alias("List")]
    Task<IReadOnlyList<string>> List();
}
