using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>
/// The mixture side of a training run (issue 15), on the same grain as <see cref="IRunGrain"/> (same key): the served
/// mark, the journal of re-weightings. A run over a single-source job answers <see cref="ServeStep"/> with its plan
/// and refuses the rest.
/// </summary>
[Alias("OrleansShards.IRunMixtureGrain")]
public interface IRunMixtureGrain : IGrainWithStringKey
{
    /// <summary>
    /// The plan to serve rank <paramref name="rank"/> of <paramref name="worldSize"/> at (<paramref name="epoch"/>,
    /// <paramref name="step"/>); over a mixture the step is first recorded as served (durable before it returns), so
    /// a re-weighting can never change a step a rank has seen.
    /// </summary>
    /// <exception cref="ShardsException">Out of range (invalid, names the field), unknown run (not found).</exception>
    [Alias("ServeStep")]
    Task<RunBatchPlan> ServeStep(int epoch, long step, int rank, int worldSize);

    /// <summary>The run's mixture: journal, served mark, sources' positions.</summary>
    /// <exception cref="ShardsException">Unknown run (not found), a job that is not a mixture (invalid).</exception>
    [Alias("GetMixture")]
    Task<RunMixtureStatus> GetMixture();

    /// <summary>
    /// Journals new weights from (<paramref name="fromEpoch"/>, <paramref name="fromStep"/>) on, durable before it
    /// returns; entries at or after that step are replaced. Sources not named keep their weight.
    /// </summary>
    /// <exception cref="ShardsException">At or before the served mark (conflict), unknown source, bad weight or step (invalid).</exception>
    [Alias("Reweight")]
    Task<RunMixtureStatus> Reweight(IReadOnlyDictionary<string, double> weights, int fromEpoch, long fromStep);
}
