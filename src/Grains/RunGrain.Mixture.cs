using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// A run over a mixture (issue 15): the served mark and the journal of re-weightings. A re-weighting takes effect at a
/// step after the highest step served, so the steps a rank has seen are the same when read again, after a restart or
/// a checkpoint import; a rewind moves the mark back to the rewind point and drops the journal entries after it.
/// </summary>
public sealed partial class RunGrain : IRunMixtureGrain
{
    /// <summary>The most entries a run's journal holds (its stored state stays bounded).</summary>
    public const int MaxJournalEntries = 1000;

    /// <inheritdoc />
    public async Task<RunBatchPlan> ServeStep(int epoch, long step, int rank, int worldSize)
    {
        var plan = await GetBatchPlan();
        if (plan.Job.Mixture is null)
        {
            return plan;
        }

        if (plan.Steps.Validate(plan.Job.Epochs, epoch, step, rank, worldSize) is { } problem)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, problem.Reason);
        }

        // The grain takes one call at a time: the ranks of a step after the first find the mark set and write nothing,
        // so a step costs one write however many ranks ask for it.
        var position = new RunPosition(epoch, step);
        var mixture = state.State.Mixture;
        if (mixture.Served is not { } served || position > served)
        {
            await WriteMixture(mixture with { Served = position });
        }

        return plan with { Journal = state.State.Mixture.Journal };
    }

    /// <inheritdoc />
    public async Task<RunMixtureStatus> GetMixture()
    {
        var (plan, mixturePlan) = await MixturePlanAsync();
        return MixtureStatus(plan, mixturePlan);
    }

    /// <inheritdoc />
    public async Task<RunMixtureStatus> Reweight(IReadOnlyDictionary<string, double> weights, int fromEpoch, long fromStep)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var (plan, mixturePlan) = await MixturePlanAsync();
        if (weights.Count == 0)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "weights", "weights must name at least one source: {\"name\": weight, ...}");
        }

        foreach (var (name, weight) in weights)
        {
            if (mixturePlan.IndexOf(name) < 0)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, $"weights.{name}", $"'{name}' is not a source of job '{JobId}' ({string.Join(", ", mixturePlan.Sources.Select(s => s.Name))})");
            }

            if (MixtureWeights.Problem(weight) is { } problem)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, $"weights.{name}", $"weights.{name} {problem}");
            }
        }

        if (fromEpoch < 0 || fromEpoch >= plan.Job.Epochs)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "fromEpoch", $"fromEpoch {fromEpoch} must be in [0, {plan.Job.Epochs})");
        }

        if (fromStep < 0 || fromStep >= plan.Steps.StepsPerEpoch)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "fromStep", $"fromStep {fromStep} must be in [0, {plan.Steps.StepsPerEpoch}), the steps of an epoch");
        }

        var mixture = state.State.Mixture;
        var from = new RunPosition(fromEpoch, fromStep);
        if (mixture.Served is { } served && from <= served)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "fromStep", $"{from} is at or before the highest step served ({served}): a re-weighting takes effect after it (rewind first to re-weight earlier steps)");
        }

        var g = plan.Steps.GlobalBatchSize;
        var definition = mixturePlan.Definition(plan.Job);
        var current = MixtureOrder.WeightsAt(definition, mixture.Journal, fromEpoch, fromStep * g).ToArray();
        foreach (var (name, weight) in weights)
        {
            current[mixturePlan.IndexOf(name)] = weight;
        }

        // Entries at or after the new one were never served (they are after the mark): the new one replaces them.
        var kept = mixture.Journal.Where(e => e.FromEpoch < fromEpoch || (e.FromEpoch == fromEpoch && e.FromPosition < fromStep * g)).ToList();
        if (kept.Count >= MaxJournalEntries)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "fromStep", $"the run's journal holds {MaxJournalEntries} entries already, the most it keeps");
        }

        kept.Add(new MixtureReweighting { FromEpoch = fromEpoch, FromPosition = fromStep * g, Weights = current, At = time.GetUtcNow() });
        await WriteMixture(mixture with { Journal = kept });
        return MixtureStatus(plan, mixturePlan);
    }

    /// <summary>After a rewind to <paramref name="point"/>: the served mark goes back to it and later entries are dropped.</summary>
    private bool RewindMixture(RunPosition point)
    {
        var mixture = state.State.Mixture;
        var g = state.State.Spec!.GlobalBatchSize;
        var served = mixture.Served is { } mark && mark > point ? point : mixture.Served;
        var journal = mixture.Journal.Where(e => new RunPosition(e.FromEpoch, e.FromPosition / g) <= point).ToList();
        if (served == mixture.Served && journal.Count == mixture.Journal.Count)
        {
            return false;
        }

        state.State.Mixture = new RunMixtureState { Served = served, Journal = journal };
        return true;
    }

    /// <summary>The mixture state of an imported run, checked against the job and the run's spec.</summary>
    private RunMixtureState ImportMixture(CheckpointRun checkpoint, JobReadPlan plan, RunSpec spec)
    {
        var journal = checkpoint.Journal ?? [];
        var field = $"runs.{RunName}.journal";
        if (plan.Mixture is not { } mixturePlan)
        {
            return journal.Count > 0 || checkpoint.Served is not null
                ? throw new ShardsException(ShardsErrorKind.Invalid, field, $"run '{RunName}': a journal or served mark is for a run over a mixture, and job '{JobId}' is not one")
                : new RunMixtureState();
        }

        var steps = new RunSteps(RecordsOf(plan), spec.GlobalBatchSize, spec.DropRemainder);
        for (var i = 0; i < journal.Count; i++)
        {
            var entry = journal[i];
            if (entry.FromEpoch < 0 || entry.FromEpoch >= plan.Epochs || entry.FromPosition < 0 || entry.FromPosition % spec.GlobalBatchSize != 0
                || entry.FromPosition / spec.GlobalBatchSize >= steps.StepsPerEpoch || entry.Weights.Count != mixturePlan.Sources.Count
                || entry.Weights.Any(w => MixtureWeights.Problem(w) is not null)
                || (i > 0 && (entry.FromEpoch, entry.FromPosition).CompareTo((journal[i - 1].FromEpoch, journal[i - 1].FromPosition)) <= 0))
            {
                throw new ShardsException(ShardsErrorKind.Invalid, $"{field}[{i}]", $"run '{RunName}': journal entry {i} must start at a step of the run (a multiple of {spec.GlobalBatchSize} below {steps.StepsPerEpoch * spec.GlobalBatchSize}) in [0, {plan.Epochs}) epochs, after the entry before it, with {mixturePlan.Sources.Count} positive weights");
            }
        }

        return new RunMixtureState { Served = checkpoint.Served, Journal = [.. journal.Take(MaxJournalEntries)] };
    }

    private void CheckMixtureSources(JobReadPlan plan)
    {
        if (plan.Mixture is not { } mixture)
        {
            return;
        }

        foreach (var source in mixture.Sources)
        {
            if (plan.Files.Skip(source.FirstPartition).Take(source.Partitions).Sum(f => f.RecordCount) < 1)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "sources", $"source '{source.Name}' of job '{JobId}' has no records: a mixture cannot draw from it");
            }
        }
    }

    private async Task<(RunBatchPlan Plan, MixturePlan Mixture)> MixturePlanAsync()
    {
        var plan = await GetBatchPlan();
        return plan.Job.Mixture is { } mixture
            ? (plan, mixture)
            : throw new ShardsException(ShardsErrorKind.Invalid, "run", $"job '{JobId}' is not a mixture: its runs have no weights to show or change");
    }

    private async Task WriteMixture(RunMixtureState next)
    {
        var before = state.State.Mixture;
        state.State.Mixture = next;
        try
        {
            await ShardsMetrics.TimeStorageWrite("run", () => state.WriteStateAsync());
        }
        catch
        {
            state.State.Mixture = before;
            throw;
        }
    }

    private RunMixtureStatus MixtureStatus(RunBatchPlan plan, MixturePlan mixturePlan)
    {
        var mixture = state.State.Mixture;
        var g = plan.Steps.GlobalBatchSize;
        var names = mixturePlan.Sources.Select(s => s.Name).ToArray();
        var definition = mixturePlan.Definition(plan.Job);
        var book = new RunBook(state.State.Book, plan.Steps, plan.Job.Epochs);
        var at = book.ResumeAt;
        // A finished run is described at the end of its last epoch.
        var (epoch, position) = at.Epoch >= plan.Job.Epochs ? (plan.Job.Epochs - 1, definition.SamplesPerEpoch) : (at.Epoch, Math.Min(at.Step * g, definition.SamplesPerEpoch));
        var draws = new MixtureOrder(definition, g, mixture.Journal, epoch).DrawsAt(position);
        var weights = MixtureOrder.WeightsAt(definition, mixture.Journal, epoch, position);
        var served = mixture.Served;
        return new RunMixtureStatus
        {
            Run = RunName,
            Served = served,
            EarliestReweighting = served is { } s ? plan.Steps.After(s.Epoch, s.Step) : new RunPosition(0, 0),
            SpecWeights = Named(names, definition.Weights),
            Journal = [.. mixture.Journal.Select(e => new RunMixtureEntry(e.FromEpoch, e.FromPosition / g, Named(names, e.Weights), e.At))],
            Sources = [.. definition.Sources.Select((s, i) => new RunMixtureSource(s.Name, weights[i], s.RecordCount, draws[i], draws[i] / s.RecordCount, draws[i] % s.RecordCount))],
            At = at,
        };
    }

    private static Dictionary<string, double> Named(string[] names, IReadOnlyList<double> weights) =>
        names.Select((n, i) => (n, weights[i])).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal);
}
