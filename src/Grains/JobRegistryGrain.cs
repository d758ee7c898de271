using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>Keeps the ids of the cluster's jobs so that <c>GET /v1/jobs</c> can list them.</summary>
// Pinned to the name Orleans derived from the class name before it was pinned (lower case, "Grain" cut off):
// stored state and running clusters keep their identity if the class is renamed.
[GrainType("jobregistry")]
public sealed class JobRegistryGrain(
    [PersistentState("jobs", ShardsOptions.StorageName)] IPersistentState<JobRegistryState> state) : Grain, IJobRegistryGrain
{
    /// <inheritdoc />
    public async Task Add(string jobId)
    {
        if (state.State.JobIds.Add(jobId))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public async Task Remove(string jobId)
    {
        if (state.State.JobIds.Remove(jobId))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>([.. state.State.JobIds]);
}
