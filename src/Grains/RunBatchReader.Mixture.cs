using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// Batches of runs over a mixture (issue 15): the positions of a rank map through the epoch's
/// <see cref="MixtureOrder"/> (for the run's journal) to a source, its pass and a record of that source's shards, read
/// through the same cache and read-ahead as a single-source run. Every record carries its source in <c>_source</c>.
/// </summary>
public sealed partial class RunBatchReader
{
    private const int MaxCachedPatterns = 256;
    private readonly ConcurrentDictionary<(string Weights, int BlockSize), MixturePattern> _patterns = new();

    /// <summary>The mixture order of <paramref name="epoch"/> for <paramref name="plan"/>, with its patterns from the silo's cache.</summary>
    internal MixtureOrder MixtureOrderOf(RunBatchPlan plan, int epoch)
    {
        var g = plan.Steps.GlobalBatchSize;
        return new MixtureOrder(plan.Job.Mixture!.Definition(plan.Job), g, plan.Journal ?? [], epoch, weights =>
        {
            if (_patterns.Count > MaxCachedPatterns)
            {
                _patterns.Clear();
            }

            return _patterns.GetOrAdd((string.Join(',', weights), g), _ => new MixturePattern(weights, g));
        });
    }

    private async Task<RunBatch> ReadMixtureAsync(
        string jobId, string run, RunBatchPlan plan, int epoch, long step, int rank, int worldSize, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var mixture = plan.Job.Mixture!;
        var sourceKey = SourceKeyOf(plan.Job.Source, columns);
        var count = plan.Steps.GlobalBatchSize / worldSize;
        var slots = MixtureSlots(plan, epoch, plan.Steps.FirstPosition(step, rank, worldSize), count);
        var loads = new Dictionary<ShardRange, Task<RecordBatch>>();
        var fromMemory = true;
        var shards = new ShardRange[count];
        for (var i = 0; i < count; i++)
        {
            shards[i] = JobShardOf(mixture, slots[i]);
            if (!loads.ContainsKey(shards[i]))
            {
                var (load, cached) = Load(plan.Job, sourceKey, shards[i], columns);
                loads[shards[i]] = load;
                fromMemory &= cached && load.IsCompletedSuccessfully;
            }
        }

        var batches = new Dictionary<ShardRange, RecordBatch>(loads.Count);
        foreach (var (shard, load) in loads)
        {
            batches[shard] = await Translate(load.WaitAsync(cancellationToken), columns);
        }

        var sources = new RecordBatch[count];
        var rows = new int[count];
        var origins = new string[count];
        for (var i = 0; i < count; i++)
        {
            sources[i] = batches[shards[i]];
            rows[i] = (int)slots[i].Slot.Row;
            origins[i] = mixture.Sources[slots[i].Source].Name;
        }

        ReadAheadFrom(jobId, run, plan, sourceKey, columns, new RunPosition(epoch, step));
        var elapsed = Stopwatch.GetElapsedTime(started);
        _stats.GetOrAdd((jobId, run), _ => new Stats()).Record(elapsed, fromMemory);
        ShardsMetrics.RunBatchServed(jobId, run, count, elapsed, fromMemory);
        return new RunBatch(sources, rows, fromMemory, origins);
    }

    /// <summary>The draws of <paramref name="count"/> positions from <paramref name="first"/>; past the epoch's end they wrap to its start.</summary>
    internal MixtureSlot[] MixtureSlots(RunBatchPlan plan, int epoch, long first, int count)
    {
        var order = MixtureOrderOf(plan, epoch);
        var slots = new MixtureSlot[count];
        var inEpoch = (int)Math.Clamp(order.Count - first, 0, count);
        if (inEpoch > 0)
        {
            order.Fill(first, slots.AsSpan(0, inEpoch));
        }

        // Without dropRemainder the last step is filled from the start of the epoch's order (RunSteps.PositionOf).
        for (var done = inEpoch; done < count;)
        {
            var from = (first + done) % order.Count;
            var length = (int)Math.Min(count - done, order.Count - from);
            order.Fill(from, slots.AsSpan(done, length));
            done += length;
        }

        return slots;
    }

    /// <summary>The shards (in job partitions) step <paramref name="position"/> reads, each once, in order of first use.</summary>
    private IEnumerable<ShardRange> ShardsOfStep(RunBatchPlan plan, RunPosition position)
    {
        if (plan.Job.Mixture is { } mixture)
        {
            return MixtureSlots(plan, position.Epoch, plan.Steps.FirstPosition(position.Step, 0, 1), plan.Steps.GlobalBatchSize)
                .Select(slot => JobShardOf(mixture, slot)).Distinct();
        }

        var order = OrderOf(plan, position.Epoch);
        return Enumerable.Range(0, plan.Steps.GlobalBatchSize)
            .Select(i => order.At(plan.Steps.PositionOf(position.Step, 0, 1, i)).Shard).Distinct();
    }

    private static ShardRange JobShardOf(MixturePlan mixture, MixtureSlot slot) =>
        slot.Slot.Shard with { Partition = mixture.Sources[slot.Source].FirstPartition + slot.Slot.Shard.Partition };

    private static SourceSpec SourceOfPartition(JobReadPlan plan, int partition) =>
        plan.Mixture is { } mixture ? mixture.Sources[mixture.SourceOf(partition)].Source : plan.Source;
}
