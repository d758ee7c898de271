using System.Diagnostics;
using OrleansShards.Core;

namespace OrleansShards.Service.Bench;

/// <summary>The upper bound: the TaskBook alone, leased and reported in a loop on one thread; no Orleans, no storage.</summary>
public static class MemoryBench
{
    public static void Run(BenchOptions options, Results results)
    {
        Console.WriteLine("[memory] TaskBook lease + report loop, one thread, shuffled order, no Orleans, no storage");
        foreach (var (shards, maxTasks) in new[] { (1_000_000L, 1), (1_000_000L, 16), (1_000L, 1) })
        {
            var m = Runner.Measure($"TaskBook, {shards:N0} shards, maxTasks {maxTasks}", options, seconds => Loop(shards, maxTasks, seconds)).GetAwaiter().GetResult();
            results.Add(Keys.Memory(shards, maxTasks), m);
        }

        Console.WriteLine();
    }

    private static RunResult Loop(long shards, int maxTasks, double seconds)
    {
        // Many epochs, so that a small catalogue never runs out: the book rolls over to the next epoch in place.
        var settings = new TaskBookSettings(Epochs: 1_000_000, Shuffle: true, Seed: 42, LeaseTimeout: TimeSpan.FromMinutes(10), MaxAttempts: 3);
        var book = new TaskBook(new TaskBookState(), settings, new ShardCatalog([shards], 1), TimeProvider.System);
        var limit = (long)(seconds * Stopwatch.Frequency);
        var start = Stopwatch.GetTimestamp();
        long ops = 0;
        long now;
        do
        {
            for (var i = 0; i < 64; i++)
            {
                var leases = book.Lease("worker-0", maxTasks);
                foreach (var lease in leases)
                {
                    var answer = book.Report(lease.TaskId, lease.LeaseId, "worker-0", done: true);
                    if (answer.Result != ReportResult.Accepted)
                    {
                        throw new InvalidOperationException($"report of {lease.TaskId} was {answer.Result}: {answer.Reason}");
                    }

                    ops++;
                }
            }

            now = Stopwatch.GetTimestamp();
        }
        while (now - start < limit);
        return new RunResult(ops, (now - start) / (double)Stopwatch.Frequency);
    }
}
