namespace OrleansShards.Grains;

/// <summary>The persisted names of a job's runs.</summary>
[GenerateSerializer, Alias("OrleansShards.JobRunsState")]
public sealed class JobRunsState
{
    /// <summary>The run names.</summary>
    [Id(0)] public SortedSet<string> Runs { get; set; } = new(StringComparer.Ordinal);
}
