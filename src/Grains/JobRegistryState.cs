namespace OrleansShards.Grains;

/// <summary>The persisted set of job ids.</summary>
[GenerateSerializer, Alias("shards.JobRegistryState")]
public sealed class JobRegistryState
{
    /// <summary>The job ids.</summary>
    [Id(0)] public SortedSet<string> JobIds { get; set; } = new(StringComparer.Ordinal);
}
