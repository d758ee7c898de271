using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Snapshots of every job, shared by all who look: a snapshot is taken and serialized once per
/// <see cref="MaxAge"/>, and every caller of <c>GET /v1/status</c> and every follower of the stream is sent the same
/// bytes, so ten open pages cost one snapshot, not ten. A snapshot lists at most the first leases and dead letters
/// of each job (<see cref="ShardsLimitsOptions"/>) with counts for the rest, and the stream has a bounded number of
/// followers (<see cref="TryFollow"/>): whatever workers send, a snapshot's size is bounded.
/// </summary>
public sealed class StatusSnapshots(IGrainFactory grains, TimeProvider time, ShardsLimitsOptions limits, JsonSerializerOptions json)
{
    /// <summary>How old a snapshot may be and still be served.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private Task<SerializedSnapshot>? _latest;
    private DateTimeOffset _takenAt;
    private int _followers;

    /// <summary>The followers of the stream now.</summary>
    public int Followers => Volatile.Read(ref _followers);

    /// <summary>A snapshot of every job, at most <see cref="MaxAge"/> old, with its JSON and its Server-Sent Events frame.</summary>
    public Task<SerializedSnapshot> GetAsync()
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

    /// <summary>Counts a new follower of the stream unless <see cref="ShardsLimitsOptions.MaxStatusFollowers"/> follow already; dispose the answer when it leaves.</summary>
    public IDisposable? TryFollow()
    {
        if (Interlocked.Increment(ref _followers) > limits.MaxStatusFollowers)
        {
            Interlocked.Decrement(ref _followers);
            return null;
        }

        return new Follower(this);
    }

    private async Task<SerializedSnapshot> Take()
    {
        var ids = await grains.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).List();
        var jobs = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                var status = await grains.GetGrain<IJobGrain>(id).GetStatus();
                // Only a job with leases in flight is asked for them (its checkpoint also asks every splitter).
                var leases = status.Shards.Doing > 0 ? await StatusEndpoints.Leases(grains, id) : [];
                var deadNotListed = Math.Max(0, status.DeadLetters.Count - limits.StatusDeadLettersPerJob);
                return new JobSnapshot(
                    deadNotListed > 0 ? status with { DeadLetters = [.. status.DeadLetters.Take(limits.StatusDeadLettersPerJob)] } : status,
                    leases.Count > limits.StatusLeasesPerJob ? [.. leases.Take(limits.StatusLeasesPerJob)] : leases,
                    Math.Max(0, leases.Count - limits.StatusLeasesPerJob),
                    deadNotListed + (status.DeadLettersNotListed ?? 0))
                {
                    Runs = await RunSnapshot.OfJobAsync(grains, id),
                };
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
            {
                return null; // Deleted between the list and the status.
            }
        }));
        var snapshot = new StatusSnapshot(time.GetUtcNow(), jobs.OfType<JobSnapshot>().ToList());
        var body = JsonSerializer.SerializeToUtf8Bytes(snapshot, json);
        return new SerializedSnapshot(snapshot, body, [.. "event: status\ndata: "u8, .. body, .. "\n\n"u8]);
    }

    private sealed class Follower(StatusSnapshots owner) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                Interlocked.Decrement(ref owner._followers);
            }
        }
    }
}
