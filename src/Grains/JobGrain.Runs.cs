using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>A job's training runs go with it: deleting the job deletes their state and their list.</summary>
public sealed partial class JobGrain
{
    private async Task DeleteRuns()
    {
        var runs = GrainFactory.GetGrain<IJobRunsGrain>(JobId);
        foreach (var run in await runs.List())
        {
            try
            {
                await GrainFactory.GetGrain<IRunGrain>(IRunGrain.KeyOf(JobId, run)).Delete();
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
            {
                // A listed name whose run was never written (its creation failed after the name was added).
            }
        }

        await runs.Clear();
    }
}
