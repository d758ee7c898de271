using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>Keeps the names of a job's runs so that they can be listed (and carried by a checkpoint).</summary>
[GrainType("jobruns")]
public sealed class JobRunsGrain(
    [PersistentState("jobruns", ShardsOptions.StorageName)] IPersistentState<JobRunsState> state) : Grain, IJobRunsGrain
{
    /// <inheritdoc />
    public async Task Add(string run)
    {
        if (state.State.Runs.Add(run))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public async Task Remove(string run)
    {
        if (state.State.Runs.Remove(run))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Runs]);

    /// <inheritdoc />
    public async Task Clear()
    {
        await state.ClearStateAsync();
        state.State = new JobRunsState();
        DeactivateOnIdle();
    }
}
