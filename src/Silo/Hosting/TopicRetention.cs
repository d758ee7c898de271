using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Hosting;

/// <summary>Retention of the built-in log, bound from <c>Shards:Topics</c>. Nothing is removed unless a limit is set.</summary>
public sealed class TopicRetentionSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Topics";

    /// <summary>Keep at most this many records per partition (no limit when unset).</summary>
    public long? RetainRecords { get; set; }

    /// <summary>Keep records appended within this time (no limit when unset), e.g. <c>7.00:00:00</c>.</summary>
    public TimeSpan? RetainFor { get; set; }

    /// <summary>How often retention runs.</summary>
    public TimeSpan CheckEvery { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The policy these settings describe.</summary>
    public LogRetention Policy => new(RetainRecords, RetainFor);
}

/// <summary>
/// Removes records of the built-in log by count and age, never past the committed offset of a job
/// on that topic that is not cancelled: a live job never finds the records it has still to deliver gone.
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

            if (status.Spec.Source is not { Kind: "topic", Topic: { } topic } || status.State == JobStates.Cancelled)
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
}

/// <summary>Runs <see cref="TopicRetention"/> every <see cref="TopicRetentionSettings.CheckEvery"/> while the silo runs.</summary>
public sealed class TopicRetentionService(TopicRetention retention, IOptions<TopicRetentionSettings> settings, TimeProvider time, ILogger<TopicRetentionService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var policy = settings.Value.Policy;
        if (policy.MaxRecords is null && policy.MaxAge is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.Value.CheckEvery, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await retention.RunOnceAsync(policy, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The cluster may be starting or recovering: the next round tries again.
                logger.LogWarning(e, "Retention of the built-in log failed; the next round tries again");
            }
        }
    }
}
