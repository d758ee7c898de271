using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Removes records of the built-in log by count and age, never past the committed offset of a job
/// on that topic that is not cancelled: a live job never finds the records it has still to deliver gone;
/// nor past the retention floor of a live run on it (the step after its oldest kept commit), so a rewind finds its records.
/// </summary>
public sealed class TopicRetention(ILogStore store, IGrainFactory grains, TimeProvider time, ILogger<TopicRetention> logger)
{
    /// <summary>Applies <paramref name="policy"/> to every partition of every topic once.</summary>
    /// <returns>The records removed.</returns>
    public async Task<long> RunOnceAsync(LogRetention policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.MaxRecords is null && policy.MaxAge is null)
        {
            return 0;
        }

        var committed = await CommittedOffsetsByTopicAsync();
        var removed = 0L;
        foreach (var topic in await store.ListTopicsAsync(cancellationToken))
        {
            for (var partition = 0; partition < topic.Partitions; partition++)
            {
                var bounds = await store.GetBoundsAsync(topic.Name, partition, cancellationToken);
                long? ageOffset = policy.AgeCutoff(time.GetUtcNow()) is { } cutoff ? await store.FindOffsetAsync(topic.Name, partition, cutoff, cancellationToken) : null;
                long? lowest = committed.TryGetValue((topic.Name, partition), out var offset) ? offset : null;
                var point = policy.TruncatePoint(bounds, ageOffset, lowest);
                if (point > bounds.FirstRetained)
                {
                    await store.TruncateAsync(topic.Name, partition, point, cancellationToken);
                    removed += point - bounds.FirstRetained;
                    logger.LogInformation("Topic {Topic} partition {Partition}: retention removed offsets [{From}, {To})", topic.Name, partition, bounds.FirstRetained, point);
                }
            }
        }

        return removed;
    }

    /// <summary>The lowest committed offset of each topic partition over the jobs that still read it.</summary>
    private async Task<Dictionary<(string Topic, int Partition), long>> CommittedOffsetsByTopicAsync()
    {
        var lowest = new Dictionary<(string, int), long>();
        var ids = await grains.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).List();
        foreach (var id in ids)
        {
            JobStatus status;
            try
            {
                status = await grains.GetGrain<IJobGrain>(id).GetStatus();
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
            {
                continue;
            }

            if (status.Spec.Source is not { Kind: "topic", Topic: { } topic })
            {
                continue;
            }

            // A live run keeps every record back to its oldest kept commit, whatever the job's state: a rewind may need them.
            await AddRunFloorsAsync(lowest, id, topic);
            if (status.State == JobStates.Cancelled)
            {
                continue;
            }

            foreach (var partition in status.Partitions)
            {
                if (partition.Committed is { } offset)
                {
                    var key = (topic, partition.Partition);
                    lowest[key] = lowest.TryGetValue(key, out var known) ? Math.Min(known, offset) : offset;
                }
            }
        }

        return lowest;
    }

    /// <summary>Lowers <paramref name="lowest"/> to the retention floor of every live run of job <paramref name="jobId"/>.</summary>
    private async Task AddRunFloorsAsync(Dictionary<(string, int), long> lowest, string jobId, string topic)
    {
        foreach (var run in await grains.GetGrain<IJobRunsGrain>(jobId).List())
        {
            if (await grains.GetGrain<IRunGrain>(IRunGrain.KeyOf(jobId, run)).GetRetentionFloor() is not { } floor)
            {
                continue; // A static run, or a listed name without a run.
            }

            for (var partition = 0; partition < floor.Count; partition++)
            {
                var key = (topic, partition);
                lowest[key] = lowest.TryGetValue(key, out var known) ? Math.Min(known, floor[partition]) : floor[partition];
            }
        }
    }
}
