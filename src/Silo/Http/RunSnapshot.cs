using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>A training run on the status page: its committed step, where it resumes and its pace.</summary>
/// <param name="Run">The run's name.</param>
/// <param name="Committed">The last commit, or null.</param>
/// <param name="ResumeAt">The step the run resumes at.</param>
/// <param name="StepsPerSecond">Committed steps per second over the kept commits, when known.</param>
/// <param name="Live">Whether the run reads a live job.</param>
public sealed record RunSnapshot(string Run, RunCommitStatus? Committed, RunPosition ResumeAt, double? StepsPerSecond, bool Live)
{
    /// <summary>The runs of job <paramref name="jobId"/>, by name; a run deleted meanwhile, or whose status cannot be read now, is left out.</summary>
    internal static async Task<IReadOnlyList<RunSnapshot>> OfJobAsync(IGrainFactory grains, string jobId)
    {
        var names = await grains.GetGrain<IJobRunsGrain>(jobId).List();
        var runs = await Task.WhenAll(names.Select(async name =>
        {
            try
            {
                var status = await grains.GetGrain<IRunGrain>(IRunGrain.KeyOf(jobId, name)).GetStatus();
                return new RunSnapshot(status.Run, status.Committed, status.ResumeAt, status.StepsPerSecond, status.Live);
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound || e.Kind == ShardsErrorKind.Conflict)
            {
                return null; // Deleted, or its job still describes its source.
            }
            catch (Exception e) when (e is not (OrleansException or TimeoutException))
            {
                // A live run whose source cannot be reached now (its status reads the partitions' bounds): the page
                // leaves it out rather than failing the whole snapshot; GET .../runs/{run} reports the error.
                return null;
            }
        }));
        return runs.OfType<RunSnapshot>().ToList();
    }
}
