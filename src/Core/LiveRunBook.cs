namespace OrleansShards.Core;

/// <summary>
/// A training run over a live job (pure): one epoch, 0, whose steps are cut in arrival order from the records the
/// partitions hold past the run's position and sealed (their per-partition offset ranges) before they are first served,
/// so a step's content never changes. Commits and rewinds follow <see cref="RunBook"/>; a commit also drops the seals
/// before the step after the oldest kept commit, so the stored state stays O(partitions × steps after it).
/// </summary>
/// <param name="live">The stored seals; changed in place.</param>
/// <param name="commits">The stored commits; changed in place.</param>
/// <param name="globalBatchSize">G, the records of a step.</param>
public sealed class LiveRunBook(LiveRunState live, RunBookState commits, int globalBatchSize)
{
    /// <summary>How many steps past the last sealed one a request may ask for (and seal at once): bounds the seals an uncommitting trainer makes the run store.</summary>
    public const int MaxStepsAhead = 1024;

    // A live run's steps are unbounded: one epoch of as many steps as a long counts.
    private readonly RunBook _commits = new(commits, new RunSteps(long.MaxValue, globalBatchSize, DropRemainder: true), epochs: 1);

    /// <summary>The step the next seal makes: steps below it are sealed.</summary>
    public long Sealed => live.FirstStep + live.Ends.Count;

    /// <summary>The first step whose seal is kept.</summary>
    public long FirstStep => live.FirstStep;

    /// <summary>The partitions the run knows.</summary>
    public int Partitions => live.Start.Count;

    /// <summary>The last commit, or null.</summary>
    public RunCommit? Committed => _commits.Committed;

    /// <summary>The step to resume at: (0, 0) with no commit, the step after the last commit otherwise.</summary>
    public RunPosition ResumeAt => _commits.ResumeAt;

    /// <summary>The kept commits, oldest first.</summary>
    public IReadOnlyList<RunCommit> Commits => _commits.Commits;

    /// <summary>Committed steps per second over the kept commits.</summary>
    public double? StepsPerSecond() => _commits.StepsPerSecond();

    /// <summary>Starts the run at <paramref name="firstRetained"/> on every partition (as a live job starts).</summary>
    public void Begin(IReadOnlyList<long> firstRetained)
    {
        ArgumentNullException.ThrowIfNull(firstRetained);
        live.FirstStep = 0;
        live.Start = [.. firstRetained];
        live.Ends = [];
    }

    /// <summary>Takes in partitions added to the job after the run began, from their first retained offset; true when any was.</summary>
    public bool AddPartitions(IReadOnlyList<long> firstRetained)
    {
        ArgumentNullException.ThrowIfNull(firstRetained);
        var added = false;
        for (var p = live.Start.Count; p < firstRetained.Count; p++)
        {
            live.Start.Add(firstRetained[p]);
            added = true;
        }

        return added;
    }

    /// <summary>Where step <paramref name="step"/> ends on <paramref name="partition"/> (step <see cref="FirstStep"/> − 1: where the kept steps begin).</summary>
    public long EndOf(long step, int partition)
    {
        for (var s = step; s >= live.FirstStep; s--)
        {
            var row = live.Ends[(int)(s - live.FirstStep)];
            if (partition < row.Count)
            {
                return row[partition];
            }
        }

        return live.Start[partition];
    }

    /// <summary>Per partition, the offset the steps after <paramref name="step"/> begin at: the committed offsets when <paramref name="step"/> is the committed step.</summary>
    public long[] OffsetsAfter(long step) => [.. Enumerable.Range(0, Partitions).Select(p => EndOf(step, p))];

    /// <summary>Per partition, the run's committed offset: where the step after the last commit begins.</summary>
    public long[] CommittedOffsets() => OffsetsAfter(Committed is { } c ? c.Step : live.FirstStep - 1);

    /// <summary>The offset ranges of a sealed step, partitions with no record left out.</summary>
    /// <exception cref="RunBookException">The step is not sealed yet (invalid), or its seal was dropped with the commits before the oldest kept one (forgotten).</exception>
    public IReadOnlyList<LiveStepRange> RangesOf(long step)
    {
        CheckKept(step);
        if (step >= Sealed)
        {
            throw new RunBookException(RunBookProblem.Invalid, "step", $"step {step} is not sealed yet: steps [{live.FirstStep}, {Sealed}) are");
        }

        var ranges = new List<LiveStepRange>();
        for (var p = 0; p < Partitions; p++)
        {
            var from = EndOf(step - 1, p);
            var to = EndOf(step, p);
            if (to > from)
            {
                ranges.Add(new LiveStepRange(p, from, to));
            }
        }

        return ranges;
    }

    /// <summary>
    /// Seals the steps from <see cref="Sealed"/> up to <paramref name="step"/> while the partitions hold
    /// <c>G</c> records past the last seal; true when <paramref name="step"/> is sealed (now or before).
    /// </summary>
    /// <param name="step">The step asked for.</param>
    /// <param name="highWatermarks">Per partition, the offset the next record appended gets.</param>
    /// <exception cref="RunBookException">A step before the kept seals (forgotten) or too far past the sealed ones (invalid).</exception>
    public bool TrySeal(long step, IReadOnlyList<long> highWatermarks)
    {
        ArgumentNullException.ThrowIfNull(highWatermarks);
        CheckKept(step);
        if (step >= Sealed + MaxStepsAhead)
        {
            throw new RunBookException(RunBookProblem.Invalid, "step", $"step {step} is more than {MaxStepsAhead} steps past the last sealed step {Sealed - 1}: live steps are sealed in order");
        }

        while (Sealed <= step)
        {
            var ends = OffsetsAfter(Sealed - 1);
            var available = new long[Partitions];
            var total = 0L;
            for (var p = 0; p < Partitions; p++)
            {
                available[p] = p < highWatermarks.Count ? Math.Max(0, highWatermarks[p] - ends[p]) : 0;
                total += available[p];
            }

            if (total < globalBatchSize)
            {
                return false;
            }

            var take = Cut(available, globalBatchSize);
            live.Ends.Add([.. ends.Select((end, p) => end + take[p])]);
        }

        return true;
    }

    /// <summary>
    /// How many records a step takes from each partition: an equal share of <paramref name="size"/> from every
    /// partition with records, a partition with fewer giving all it has and the others the rest (water filling), so one
    /// busy partition does not fill every step while others wait.
    /// </summary>
    public static long[] Cut(IReadOnlyList<long> available, int size)
    {
        ArgumentNullException.ThrowIfNull(available);
        var take = new long[available.Count];
        var remaining = (long)size;
        var open = Enumerable.Range(0, available.Count).Where(p => available[p] > 0).ToList();
        while (remaining > 0 && open.Count > 0)
        {
            var share = Math.Max(1, remaining / open.Count);
            foreach (var p in open)
            {
                var t = Math.Min(Math.Min(share, available[p] - take[p]), remaining);
                take[p] += t;
                remaining -= t;
            }

            open.RemoveAll(p => take[p] == available[p]);
        }

        return take;
    }

    /// <summary>Records a commit of step <paramref name="step"/> of epoch <paramref name="epoch"/> (0); drops the seals no kept commit needs.</summary>
    /// <exception cref="RunBookException">Out of range or not sealed (invalid), backwards (conflict).</exception>
    public RunBookResult Commit(int epoch, long step, string? checkpoint, DateTimeOffset? at = null)
    {
        if (epoch == 0 && step >= Sealed)
        {
            throw new RunBookException(RunBookProblem.Invalid, "step", $"step {step} is not sealed yet (steps [0, {Sealed}) are): a step is committed after it was served");
        }

        var result = _commits.Commit(epoch, step, checkpoint, at);
        if (result == RunBookResult.Changed)
        {
            DropSealsBefore(_commits.Commits[0].Step + 1);
        }

        return result;
    }

    /// <summary>Rewinds to the kept commit named <paramref name="checkpoint"/>.</summary>
    public RunBookResult RewindTo(string checkpoint) => _commits.RewindTo(checkpoint);

    /// <summary>Rewinds to the kept commit of (<paramref name="epoch"/>, <paramref name="step"/>).</summary>
    public RunBookResult RewindTo(int epoch, long step) => _commits.RewindTo(epoch, step);

    /// <summary>
    /// The first partition whose records the steps after the committed step need and that no longer holds them:
    /// (partition, the first needed offset, its first retained offset), or null when every needed record is retained.
    /// </summary>
    public (int Partition, long Needed, long FirstRetained)? FirstGone(IReadOnlyList<long> firstRetained)
    {
        ArgumentNullException.ThrowIfNull(firstRetained);
        var needed = CommittedOffsets();
        for (var p = 0; p < needed.Length && p < firstRetained.Count; p++)
        {
            if (firstRetained[p] > needed[p])
            {
                return (p, needed[p], firstRetained[p]);
            }
        }

        return null;
    }

    /// <summary>The seals as a checkpoint document holds them.</summary>
    public CheckpointLiveRun Export() => new()
    {
        FirstStep = live.FirstStep,
        Start = [.. live.Start],
        Ends = [.. live.Ends.Select(row => (IReadOnlyList<long>)[.. row])],
    };

    /// <summary>The stored seals of a checkpoint document's live run, checked: every kept step holds exactly <paramref name="globalBatchSize"/> records.</summary>
    /// <exception cref="RunBookException">Offsets missing, negative, going backwards, or a step of another size (invalid; the field names it).</exception>
    public static LiveRunState Import(CheckpointLiveRun checkpoint, int globalBatchSize)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.FirstStep < 0 || checkpoint.Start is not { Count: > 0 } start || start.Any(o => o < 0))
        {
            throw new RunBookException(RunBookProblem.Invalid, "live.start", "live.firstStep must be at least 0 and live.start one offset of at least 0 per partition");
        }

        var state = new LiveRunState { FirstStep = checkpoint.FirstStep, Start = [.. start] };
        var previous = state.Start.ToArray();
        var ends = checkpoint.Ends ?? [];
        for (var i = 0; i < ends.Count; i++)
        {
            var row = ends[i] ?? [];
            var records = 0L;
            for (var p = 0; p < row.Count; p++)
            {
                if (p >= previous.Length || row[p] < previous[p])
                {
                    throw new RunBookException(RunBookProblem.Invalid, $"live.ends[{i}]", $"live.ends[{i}] names {row.Count} partitions or goes back on partition {p}: a step ends at or after where the previous one ended, on at most the run's {previous.Length} partitions");
                }

                records += row[p] - previous[p];
                previous[p] = row[p];
            }

            if (records != globalBatchSize)
            {
                throw new RunBookException(RunBookProblem.Invalid, $"live.ends[{i}]", $"live.ends[{i}] holds {records} records, not the run's globalBatchSize {globalBatchSize}");
            }

            state.Ends.Add([.. row]);
        }

        return state;
    }

    private void DropSealsBefore(long step)
    {
        while (live.FirstStep < step && live.Ends.Count > 0)
        {
            live.Start = OffsetsAfter(live.FirstStep).ToList();
            live.Ends.RemoveAt(0);
            live.FirstStep++;
        }
    }

    private void CheckKept(long step)
    {
        if (step < 0)
        {
            throw new RunBookException(RunBookProblem.Invalid, "step", $"step {step} must be at least 0");
        }

        if (step < live.FirstStep)
        {
            throw new RunBookException(RunBookProblem.Forgotten, "step", $"step {step} is before the step after the run's oldest kept commit ({live.FirstStep}): its seal and records are no longer kept");
        }
    }
}
