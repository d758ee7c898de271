using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Snapshots of every job, shared by all who look: a page open in ten browsers costs one snapshot per
/// interval, not ten. A snapshot younger than <see cref="MaxAge"/> (or still being taken) is served again.
/// </summary>
public sealed class StatusSnapshots(IGrainFactory grains, TimeProvider time)
{
    /// <summary>How old a snapshot may be and still be served.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private Task<StatusSnapshot>? _latest;
    private DateTimeOffset _takenAt;

    /// <summary>A snapshot of every job, at most <see cref="MaxAge"/> old.</summary>
    public Task<StatusSnapshot> GetAsync()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_latest is null || _latest.IsFaulted || _latest.IsCanceled || (_latest.IsCompleted && now - _takenAt > MaxAge))
            {
                _takenAt = now;
                _latest = Take();
            }

            return _latest;
        }
    }

    private async Task<StatusSnapshot> Take()
    {
        var ids = await grains.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).List();
        var jobs = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                var status = await grains.GetGrain<IJobGrain>(id).GetStatus();
                // Only a job with leases in flight is asked for them (its checkpoint also asks every splitter).
                var leases = status.Shards.Doing > 0 ? await StatusEndpoints.Leases(grains, id) : [];
                return new JobSnapshot(status, leases) { Runs = await RunSnapshot.OfJobAsync(grains, id) };
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
            {
                return null; // Deleted between the list and the status.
            }
        }));
        return new StatusSnapshot(time.GetUtcNow(), jobs.OfType<JobSnapshot>().ToList());
    }
}
