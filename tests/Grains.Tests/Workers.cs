using System.Collections.Concurrent;
using System.Globalization;
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
public sealed class ThickWorker(ShardsCluster cluster, string jobId, string workerId, Deliveries deliveries)
{
    public List<TaskLease> Unreported { get; } = [];

    /// <summary>Works until the job ends, or until <paramref name="stopAfterReports"/> reports, keeping the leases it then holds unreported.</summary>
    public async Task<int> RunAsync(int maxTasks = 2, int? stopAfterReports = null, Func<bool>? stop = null)
    {
        var job = cluster.Client.GetGrain<IJobGrain>(jobId);
        var reports = 0;
        while (true)
        {
            var batch = await job.Lease(new LeaseRequest(workerId, maxTasks));
            if (batch.Leases.Count == 0)
            {
                if (batch.State is JobStates.Completed or JobStates.Failed)
                {
                    return reports;
                }

                await Task.Delay(batch.RetryAfterMs ?? 50);
                continue;
            }

            var plan = await job.GetReadPlan();
            foreach (var lease in batch.Leases)
            {
                using (var page = await cluster.Reader.ReadAsync(plan, lease.TaskId, 0, (int)lease.Shard.Length, ["id"], CancellationToken.None))
                {
                    for (var i = 0; i < page.Count; i++)
                    {
                        deliveries.Add(lease.Epoch, long.Parse(page.GetText(i, "id")!, CultureInfo.InvariantCulture), lease.TaskId);
                    }
                }

                if ((stopAfterReports is { } limit && reports >= limit) || stop?.Invoke() == true)
                {
                    Unreported.Add(lease);
                    continue;
                }

                await job.Report(new TaskReport(lease.TaskId, lease.LeaseId, workerId, Done: true));
                reports++;
            }

            if (Unreported.Count > 0)
            {
                return reports;
            }
        }
    }
}
