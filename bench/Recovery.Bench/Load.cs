using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansShards.Client;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Recovery.Bench;

/// <summary>Counts shared by the probe and the worker: reports the job acknowledged, and reports whose answer never came.</summary>
internal sealed class Ledger
{
    private long acknowledged;
    private long unanswered;

    public long Acknowledged => Interlocked.Read(ref acknowledged);

    public long Unanswered => Interlocked.Read(ref unanswered);

    /// <summary>Reports a lease done; a report that fails may or may not have been recorded by the job.</summary>
    public async Task ReportAsync(ShardsClient client, string jobId, string workerId, LeaseBatch batch)
    {
        foreach (var lease in batch.Leases)
        {
            try
            {
                await client.ReportAsync(jobId, new TaskReport(lease.TaskId, lease.LeaseId, workerId, Done: true));
                Interlocked.Increment(ref acknowledged);
            }
            catch (Exception e) when (e is ShardsApiException or HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref unanswered);
            }
        }
    }
}

/// <summary>One lease request of the probe: when it left, when its answer came, and what the answer was.</summary>
internal readonly record struct Attempt(long Sent, long Done, bool Ok, string Outcome);

/// <summary>
/// Sends a lease request to one silo every <see cref="Period"/>, without waiting for the earlier ones:
/// a request that hangs (sent to a dead silo) does not delay the next, so the first request served
/// after the kill is seen within one period. Each lease it gets is reported done.
/// </summary>
internal sealed class Probe(ShardsClient client, string jobId, Ledger ledger)
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(10);
    private const int MaxInFlight = 256;

    private readonly ConcurrentQueue<Attempt> attempts = new();
    private readonly TaskCompletionSource<long> recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> inFlight = [];
    private long killedAt = long.MaxValue;
    private int running;

    public IReadOnlyCollection<Attempt> Attempts => attempts;

    /// <summary>Completes with the timestamp of the first successful answer to a request sent after <see cref="MarkKill"/>.</summary>
    public Task<long> Recovered => recovered.Task;

    public void MarkKill(long timestamp) => Interlocked.Exchange(ref killedAt, timestamp);

    public async Task RunAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(Period);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                if (Volatile.Read(ref running) < MaxInFlight)
                {
                    Interlocked.Increment(ref running);
                    lock (inFlight)
                    {
                        inFlight.Add(Task.Run(OneAsync, CancellationToken.None));
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        Task[] pending;
        lock (inFlight)
        {
            pending = [.. inFlight];
        }

        await Task.WhenAll(pending);
    }

    private async Task OneAsync()
    {
        var sent = Stopwatch.GetTimestamp();
        try
        {
            var batch = await client.LeaseAsync(jobId, "probe", maxTasks: 1);
            var done = Stopwatch.GetTimestamp();
            attempts.Enqueue(new Attempt(sent, done, true, batch.Leases.Count > 0 ? "lease" : "empty"));
            if (sent >= Interlocked.Read(ref killedAt))
            {
                recovered.TrySetResult(done);
            }

            await ledger.ReportAsync(client, jobId, "probe", batch);
        }
        catch (ShardsApiException e)
        {
            attempts.Enqueue(new Attempt(sent, Stopwatch.GetTimestamp(), false, $"HTTP {e.Status}: {Shorten(e.Detail)}"));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            attempts.Enqueue(new Attempt(sent, Stopwatch.GetTimestamp(), false, e.GetType().Name));
        }
        finally
        {
            Interlocked.Decrement(ref running);
        }
    }

    internal static string Shorten(string detail)
    {
        // The server hides unexpected exceptions behind a generic ProblemDetails: name it, not its JSON.
        if (detail.StartsWith('{'))
        {
            return detail.Contains("An error occurred while processing your request", StringComparison.Ordinal) ? "unhandled error (ProblemDetails)" : "ProblemDetails";
        }

        var line = detail.Split('\n')[0].Trim();
        return line.Length <= 110 ? line : line[..110] + "…";
    }
}

/// <summary>A worker as workers are written: lease one, report it, pause, again; one call at a time.</summary>
internal sealed class Worker(ShardsClient client, string jobId, Ledger ledger)
{
    private readonly ConcurrentQueue<Attempt> leases = new();

    public IReadOnlyCollection<Attempt> Leases => leases;

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var sent = Stopwatch.GetTimestamp();
            try
            {
                var batch = await client.LeaseAsync(jobId, "worker", maxTasks: 1);
                leases.Enqueue(new Attempt(sent, Stopwatch.GetTimestamp(), true, batch.Leases.Count > 0 ? "lease" : "empty"));
                await ledger.ReportAsync(client, jobId, "worker", batch);
            }
            catch (ShardsApiException e)
            {
                leases.Enqueue(new Attempt(sent, Stopwatch.GetTimestamp(), false, $"HTTP {e.Status}: {Probe.Shorten(e.Detail)}"));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                leases.Enqueue(new Attempt(sent, Stopwatch.GetTimestamp(), false, e.GetType().Name));
            }

            try
            {
                await Task.Delay(Probe.Period, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
