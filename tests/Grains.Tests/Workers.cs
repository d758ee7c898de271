using System.Collections.Concurrent;
using System.Globalization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests;

/// <summary>What workers received: every (epoch, id) delivery, and which task delivered it.</summary>
public sealed class Deliveries
{
    private readonly ConcurrentDictionary<(int Epoch, long Id), int> _counts = new();
    private readonly ConcurrentDictionary<(int Epoch, long Id), string> _tasks = new();

    public void Add(int epoch, long id, string taskId)
    {
        _counts.AddOrUpdate((epoch, id), 1, (_, n) => n + 1);
        _tasks[(epoch, id)] = taskId;
    }

    public int Count(int epoch, long id) => _counts.GetValueOrDefault((epoch, id));

    public string TaskOf(int epoch, long id) => _tasks[(epoch, id)];

    public IEnumerable<(int Epoch, long Id, int Count)> Repeated => _counts.Where(kv => kv.Value > 1).Select(kv => (kv.Key.Epoch, kv.Key.Id, kv.Value));

    public IReadOnlyList<long> Missing(int epoch, long rows) =>
        [.. Enumerable.Range(0, (int)rows).Select(i => (long)i).Where(id => Count(epoch, id) == 0)];

    public void AssertExactlyOnce(int epochs, long rows)
    {
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            Assert.Empty(Missing(epoch, rows));
        }

        Assert.Empty(Repeated);
        Assert.Equal(epochs * rows, _counts.Count);
    }
}

/// <summary>A thick worker: leases through the job grain, reads records itself, reports.</summary>
/// <param name="resilient">Retry a call that failed for a reason other than the job's answer (a silo died under it).</param>
public sealed class ThickWorker(ShardsCluster cluster, string jobId, string workerId, Deliveries deliveries, bool resilient = false)
{
    /// <summary>Leases whose shard was read and whose report was never acknowledged.</summary>
    public List<TaskLease> Unreported { get; } = [];

    /// <summary>Calls that failed and were retried.</summary>
    public int Retries { get; private set; }

    /// <summary>Works until the job ends, or until <paramref name="stopAfterReports"/> reports, keeping the leases it then holds unreported.</summary>
    public async Task<int> RunAsync(int maxTasks = 2, int? stopAfterReports = null)
    {
        var job = cluster.Client.GetGrain<IJobGrain>(jobId);
        var reports = 0;
        while (true)
        {
            var batch = await Call(() => job.Lease(new LeaseRequest(workerId, maxTasks)));
            if (batch.Leases.Count == 0)
            {
                if (batch.State is JobStates.Completed or JobStates.Failed)
                {
                    return reports;
                }

                await Task.Delay(batch.RetryAfterMs ?? 50);
                continue;
            }

            var plan = await Call(job.GetReadPlan);
            foreach (var lease in batch.Leases)
            {
                Read(plan, lease);
                if (stopAfterReports is { } limit && reports >= limit)
                {
                    Unreported.Add(lease);
                    continue;
                }

                try
                {
                    await Call(() => job.Report(new TaskReport(lease.TaskId, lease.LeaseId, workerId, Done: true)));
                    reports++;
                }
                catch (ShardsException e) when (e.Kind == ShardsErrorKind.Conflict)
                {
                    // The lease expired while the cluster recovered: its shard is someone else's now.
                    Unreported.Add(lease);
                }
            }

            if (Unreported.Count > 0 && stopAfterReports is not null)
            {
                return reports;
            }
        }
    }

    /// <summary>Reads the whole shard of <paramref name="lease"/>, recording every id delivered.</summary>
    public void Read(JobReadPlan plan, TaskLease lease)
    {
        using var page = cluster.Reader.ReadAsync(plan, lease.TaskId, 0, (int)lease.Shard.Length, ["id"], CancellationToken.None).AsTask().GetAwaiter().GetResult();
        for (var i = 0; i < page.Count; i++)
        {
            deliveries.Add(lease.Epoch, long.Parse(page.GetText(i, "id")!, CultureInfo.InvariantCulture), lease.TaskId);
        }
    }

    private async Task<T> Call<T>(Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (resilient && e is not ShardsException && attempt < 100)
            {
                Retries++;
                await Task.Delay(100);
            }
        }
    }
}
