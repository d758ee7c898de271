using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;

namespace OrleansShards.Silo.Serving;

/// <summary>
/// The read plans of jobs (<see cref="IJobGrain.GetReadPlan"/>), kept per job so that a page of records costs no grain
/// call: the job grain does not serve reads queued behind its leases and reports.
/// </summary>
/// <remarks>
/// What a plan says only changes in ways this cache checks or bounds:
/// <list type="bullet">
/// <item>the current epoch only grows, and a live partition's split offset too: a task beyond the cached plan (a later
/// epoch, a range past the split offset) asks the job again, so a task is refused only when the job refuses it now;</item>
/// <item>a job deleted, created or imported through this silo is forgotten at once (<see cref="Forget"/>), so its next
/// page asks the job (and gets 404 after a delete, as before);</item>
/// <item>a plan is kept at most <see cref="ShardsOptions.ReadPlanLifetime"/>, which bounds how long a silo serves the
/// plan of a job deleted or re-created through another silo.</item>
/// </list>
/// Leases are not part of a plan: the records route never checked them, and reports still refuse a stale lease in the
/// job grain.
/// </remarks>
public sealed class ReadPlanCache(IGrainFactory grains, TimeProvider time, IOptions<ShardsOptions> options)
{
    /// <summary>Plans kept before expired ones are swept out on the next fetch.</summary>
    private const int SweepAbove = 1024;

    private readonly ConcurrentDictionary<string, Entry> _plans = new(StringComparer.Ordinal);

    /// <summary>How many plans were fetched from job grains (cache misses).</summary>
    public long Fetches => Interlocked.Read(ref _fetches);

    private long _fetches;

    /// <summary>The plan of <paramref name="jobId"/> for reading <paramref name="taskId"/>: the cached one when it covers the task and is fresh.</summary>
    /// <exception cref="ShardsException">From the job grain: unknown job (not found), a job still describing its source (conflict).</exception>
    public async ValueTask<JobReadPlan> GetAsync(string jobId, string taskId)
    {
        var lifetime = options.Value.ReadPlanLifetime;
        var now = time.GetUtcNow();
        if (_plans.TryGetValue(jobId, out var cached) && now - cached.FetchedAt < lifetime && Covers(cached.Plan, taskId))
        {
            return cached.Plan;
        }

        var plan = await grains.GetGrain<IJobGrain>(jobId).GetReadPlan();
        Interlocked.Increment(ref _fetches);
        if (lifetime > TimeSpan.Zero)
        {
            if (_plans.Count > SweepAbove)
            {
                foreach (var (id, entry) in _plans)
                {
                    if (now - entry.FetchedAt >= lifetime)
                    {
                        _plans.TryRemove(new KeyValuePair<string, Entry>(id, entry));
                    }
                }
            }

            _plans[jobId] = new Entry(plan, now);
        }

        return plan;
    }

    /// <summary>Drops the plan of <paramref name="jobId"/>: the job was deleted, created or imported.</summary>
    public void Forget(string jobId) => _plans.TryRemove(jobId, out _);

    /// <summary>Whether <paramref name="plan"/> names the task as the job would now (a task it does not name asks the job again).</summary>
    private static bool Covers(JobReadPlan plan, string taskId)
    {
        if (!TaskIds.TryParse(taskId, out var epoch, out var shard))
        {
            // Not a task id at all: any plan refuses it the same way.
            return true;
        }

        if (plan.Live)
        {
            return shard.Partition >= 0 && shard.Partition < plan.Files.Count && shard.End <= plan.Files[shard.Partition].RecordCount;
        }

        return epoch <= plan.CurrentEpoch;
    }

    private sealed record Entry(JobReadPlan Plan, DateTimeOffset FetchedAt);
}
