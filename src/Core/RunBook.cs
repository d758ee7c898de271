namespace OrleansShards.Core;

/// <summary>
/// The commits of a training run (pure): commits never go backwards, the same commit again changes nothing, a rewind
/// to a kept commit forgets the later ones, and <see cref="ResumeAt"/> is the step after the last commit. Keeps the
/// last <see cref="KeptCommits"/> commits, so the stored state is O(1).
/// </summary>
/// <param name="state">The stored state; changed in place.</param>
/// <param name="steps">The run's step arithmetic.</param>
/// <param name="epochs">The job's epochs.</param>
public sealed class RunBook(RunBookState state, RunSteps steps, int epochs)
{
    /// <summary>The commits a run keeps by name at least (the promise).</summary>
    public const int KeptCommits = 100;

    /// <summary>The last commit, or null.</summary>
    public RunCommit? Committed => state.Commits.Count == 0 ? null : state.Commits[^1];

    /// <summary>The step to resume at: (0, 0) with no commit, the step after the last commit otherwise.</summary>
    public RunPosition ResumeAt => Committed is { } last ? steps.After(last.Epoch, last.Step) : new RunPosition(0, 0);

    /// <summary>Whether the last step of the last epoch is committed.</summary>
    public bool Finished => ResumeAt.Epoch >= epochs;

    /// <summary>The kept commits, oldest first.</summary>
    public IReadOnlyList<RunCommit> Commits => state.Commits;

    /// <summary>Records a commit of (<paramref name="epoch"/>, <paramref name="step"/>).</summary>
    /// <exception cref="RunBookException">Out of range (field names it), backwards, or a checkpoint name already used for another step.</exception>
    public RunBookResult Commit(int epoch, long step, string? checkpoint, DateTimeOffset? at = null)
    {
        CheckStep(epoch, step);
        var position = new RunPosition(epoch, step);
        if (Committed is { } last)
        {
            if (position < last.Position)
            {
                throw new RunBookException(RunBookProblem.Backwards, "step", $"commit of {position} goes backwards: {last.Position} is committed{NameOf(last)}");
            }

            if (position == last.Position)
            {
                if (checkpoint is null || checkpoint == last.Checkpoint)
                {
                    return RunBookResult.Unchanged;
                }

                throw new RunBookException(RunBookProblem.Backwards, "checkpoint", $"{position} is committed already{NameOf(last)}; it cannot be committed again as checkpoint '{checkpoint}'");
            }
        }

        if (checkpoint is not null && state.Commits.FirstOrDefault(c => c.Checkpoint == checkpoint) is { } named)
        {
            throw new RunBookException(RunBookProblem.Backwards, "checkpoint", $"checkpoint '{checkpoint}' names the commit of {named.Position} already");
        }

        state.Commits.Add(new RunCommit { Epoch = epoch, Step = step, Checkpoint = checkpoint, At = at });
        if (state.Commits.Count > KeptCommits)
        {
            state.Commits.RemoveRange(0, state.Commits.Count - KeptCommits);
        }

        return RunBookResult.Changed;
    }

    /// <summary>Committed steps per second between the oldest and the newest kept commit, when they are apart in time.</summary>
    public double? StepsPerSecond()
    {
        if (state.Commits.Count < 2 || state.Commits[0].At is not { } first || state.Commits[^1].At is not { } last || last <= first)
        {
            return null;
        }

        var newest = (state.Commits[^1].Epoch * steps.StepsPerEpoch) + state.Commits[^1].Step;
        var oldest = (state.Commits[0].Epoch * steps.StepsPerEpoch) + state.Commits[0].Step;
        return (newest - oldest) / (last - first).TotalSeconds;
    }

    /// <summary>Rewinds to the kept commit named <paramref name="checkpoint"/>: later commits are forgotten.</summary>
    /// <exception cref="RunBookException">No kept commit has that name.</exception>
    public RunBookResult RewindTo(string checkpoint)
    {
        var index = state.Commits.FindLastIndex(c => c.Checkpoint == checkpoint);
        return index < 0
            ? throw new RunBookException(RunBookProblem.Unknown, "checkpoint", $"checkpoint '{checkpoint}' is not among the run's kept commits ({DescribeKept()})")
            : Truncate(index);
    }

    /// <summary>Rewinds to the kept commit of (<paramref name="epoch"/>, <paramref name="step"/>): later commits are forgotten.</summary>
    /// <exception cref="RunBookException">No kept commit is that step.</exception>
    public RunBookResult RewindTo(int epoch, long step)
    {
        var position = new RunPosition(epoch, step);
        var index = state.Commits.FindLastIndex(c => c.Position == position);
        return index < 0
            ? throw new RunBookException(RunBookProblem.Unknown, "step", $"{position} is not among the run's kept commits ({DescribeKept()})")
            : Truncate(index);
    }

    private RunBookResult Truncate(int index)
    {
        if (index == state.Commits.Count - 1)
        {
            return RunBookResult.Unchanged;
        }

        state.Commits.RemoveRange(index + 1, state.Commits.Count - index - 1);
        return RunBookResult.Changed;
    }

    private void CheckStep(int epoch, long step)
    {
        if (epoch < 0 || epoch >= epochs)
        {
            throw new RunBookException(RunBookProblem.Invalid, "epoch", $"epoch {epoch} must be in [0, {epochs})");
        }

        if (step < 0 || step >= steps.StepsPerEpoch)
        {
            throw new RunBookException(RunBookProblem.Invalid, "step", $"step {step} must be in [0, {steps.StepsPerEpoch}), the steps of an epoch");
        }
    }

    private string DescribeKept() => state.Commits.Count == 0
        ? "none"
        : $"{state.Commits.Count} kept, from {state.Commits[0].Position} to {state.Commits[^1].Position}";

    private static string NameOf(RunCommit commit) => commit.Checkpoint is null ? "" : $" (checkpoint '{commit.Checkpoint}')";
}
