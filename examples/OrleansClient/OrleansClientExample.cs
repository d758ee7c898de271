using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;
using OrleansShards.Readers.Csv;

namespace OrleansShards.OrleansClient;

/// <summary>What the example does: the job, how it reads, who it is.</summary>
public sealed record ExampleSettings
{
    /// <summary>The job id.</summary>
    public string JobId { get; init; } = "orleans-client-example";

    /// <summary>The CSV file, relative to the silo's data directory (it must have an <c>id</c> column to check delivery).</summary>
    public string Path { get; init; } = "orleans-client-example.csv";

    /// <summary>Records per shard.</summary>
    public long ShardSize { get; init; } = 1_000;

    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Leases asked for at once.</summary>
    public int MaxTasks { get; init; } = 4;

    /// <summary>The worker id leases are held under.</summary>
    public string WorkerId { get; init; } = "orleans-client-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>thick</c>: lease through <see cref="IJobGrain"/> and read the shards here with OrleansShards.Readers (the files
    /// must be reachable at the paths the silo pinned); <c>thin</c>: ask <see cref="IWorkerGrain"/> for batches, read in the silo.
    /// </summary>
    public string Mode { get; init; } = "thick";
}

/// <summary>What the example saw.</summary>
/// <param name="FinalState">The job's state at the end.</param>
/// <param name="Shards">Shards processed (over every epoch).</param>
/// <param name="Records">Records read (over every epoch).</param>
/// <param name="IdsPerEpoch">How often each id was read, per epoch.</param>
/// <param name="Elapsed">Time from the create call to the last report.</param>
public sealed record ExampleSummary(string FinalState, long Shards, long Records, IReadOnlyDictionary<int, Dictionary<string, int>> IdsPerEpoch, TimeSpan Elapsed);

/// <summary>
/// An application that calls the OrleansShards grains through an <see cref="IClusterClient"/>: creates a job,
/// leases its shards, reads their records and reports them, then prints a summary.
/// </summary>
public static class OrleansClientExample
{
    /// <summary>Runs the job to its end through <paramref name="client"/> and writes what happens to <paramref name="output"/>.</summary>
    public static async Task<ExampleSummary> RunAsync(IClusterClient client, ExampleSettings settings, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        var clock = Stopwatch.StartNew();
        var job = client.GetGrain<IJobGrain>(settings.JobId);
        var created = await job.Create(new JobSpec
        {
            Id = settings.JobId,
            Source = new SourceSpec { Kind = "csv", Paths = [settings.Path] },
            ShardSize = settings.ShardSize,
            Epochs = settings.Epochs,
        });
        output.WriteLine($"job {settings.JobId}: {(created.Created ? "created" : "exists with the same spec")}, state {created.Status.State}");
        var status = await Described(job, cancellationToken);
        output.WriteLine($"source described: {status.Partitions.Count} partition(s), {status.Shards.Total} shards an epoch, {status.Records.Total} records over {status.Epochs} epochs");

        var ids = new Dictionary<int, Dictionary<string, int>>();
        var (shards, records) = settings.Mode switch
        {
            "thick" => await Thick(client, job, settings, ids, cancellationToken),
            "thin" => await Thin(client, settings, ids, cancellationToken),
            _ => throw new ArgumentException($"mode '{settings.Mode}' is neither 'thick' nor 'thin'", nameof(settings)),
        };

        var final = await job.GetStatus();
        output.WriteLine($"done: {shards} shards, {records} records read in {clock.Elapsed.TotalSeconds:F1} s; job {final.State}, {final.Records.Delivered} records delivered");
        foreach (var (epoch, seen) in ids.OrderBy(e => e.Key))
        {
            output.WriteLine($"  epoch {epoch}: {seen.Count} distinct ids, {seen.Values.Count(n => n > 1)} read more than once");
        }

        return new ExampleSummary(final.State, shards, records, ids, clock.Elapsed);
    }

    /// <summary>Waits until the job has described every partition (its splitters run in the silo).</summary>
    private static async Task<JobStatus> Described(IJobGrain job, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            var status = await job.GetStatus();
            if (status.Partitions.Count > 0 && status.Partitions.All(p => p.Acknowledged))
            {
                return status;
            }

            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(1_000, delay.TotalMilliseconds * 2));
        }
    }

    /// <summary>A thick worker: leases through the job grain, reads the shard files here, reports all of a batch with one call.</summary>
    private static async Task<(long Shards, long Records)> Thick(
        IClusterClient client, IJobGrain job, ExampleSettings settings, Dictionary<int, Dictionary<string, int>> ids, CancellationToken cancellationToken)
    {
        var plan = await job.GetReadPlan();
        var reader = PartitionReaders.ForKind(plan.Source.Kind, new CsvReaderOptions
        {
            Header = plan.Source.Header ?? true,
            Delimiter = string.IsNullOrEmpty(plan.Source.Delimiter) ? ',' : plan.Source.Delimiter[0],
        });
        long shards = 0, records = 0;
        while (true)
        {
            var batch = await job.Lease(new LeaseRequest(settings.WorkerId, settings.MaxTasks, RequestId: Guid.NewGuid().ToString("N")));
            if (batch.Leases.Count == 0)
            {
                if (batch.State is JobStates.Completed or JobStates.Failed or JobStates.Cancelled)
                {
                    return (shards, records);
                }

                // Every shard of the epoch is leased by someone (or the job is paused): ask again soon.
                await Task.Delay(TimeSpan.FromMilliseconds(batch.RetryAfterMs ?? 100), cancellationToken);
                continue;
            }

            var reports = new List<TaskReport>();
            foreach (var lease in batch.Leases)
            {
                var file = plan.Files[lease.Shard.Partition];
                var fingerprint = new FileFingerprint(file.Length, file.LastWriteTimeUtcTicks, file.ContentHash);
                try
                {
                    using var rows = await reader.ReadAsync(new ShardReadRequest(file.Path, fingerprint, lease.Shard.Start, lease.Shard.End), cancellationToken);
                    var seen = Epoch(ids, lease.Epoch);
                    for (var row = 0; row < rows.Count; row++)
                    {
                        var id = rows.GetText(row, "id") ?? "";
                        seen[id] = seen.GetValueOrDefault(id) + 1;
                    }

                    records += rows.Count;
                    shards++;
                    reports.Add(new TaskReport(lease.TaskId, lease.LeaseId, settings.WorkerId, Done: true));
                }
                catch (Exception e) when (e is SourceChangedException or MalformedRecordException or IOException)
                {
                    // The job re-queues a failed shard until maxAttempts, then dead-letters it with this error.
                    reports.Add(new TaskReport(lease.TaskId, lease.LeaseId, settings.WorkerId, Done: false, e.Message));
                }
            }

            foreach (var outcome in await job.ReportMany(reports))
            {
                if (outcome.Result is not (ReportResult.Accepted or ReportResult.Duplicate))
                {
                    // A stale lease: it expired and another worker has the shard; its records count there.
                    Console.Error.WriteLine($"report of {outcome.TaskId} not recorded ({outcome.Result}): {outcome.Detail}");
                }
            }
        }
    }

    /// <summary>A thin worker: the silo's worker grain leases, reads and reports; the records come back as JSON.</summary>
    private static async Task<(long Shards, long Records)> Thin(
        IClusterClient client, ExampleSettings settings, Dictionary<int, Dictionary<string, int>> ids, CancellationToken cancellationToken)
    {
        var worker = client.GetGrain<IWorkerGrain>(settings.WorkerId);
        var tasks = new HashSet<(int, string)>();
        long records = 0;
        while (true)
        {
            var batch = await worker.Next(settings.JobId, 500);
            if (batch.TaskId is null)
            {
                if (batch.JobState is JobStates.Completed or JobStates.Failed or JobStates.Cancelled)
                {
                    return (tasks.Count, records);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
                continue;
            }

            tasks.Add((batch.Epoch, batch.TaskId));
            using var document = JsonDocument.Parse(batch.RecordsJson);
            var seen = Epoch(ids, batch.Epoch);
            foreach (var record in document.RootElement.EnumerateArray())
            {
                var id = record.TryGetProperty("id", out var value) ? value.ToString() : "";
                seen[id] = seen.GetValueOrDefault(id) + 1;
                records++;
            }
        }
    }

    private static Dictionary<string, int> Epoch(Dictionary<int, Dictionary<string, int>> ids, int epoch)
    {
        if (!ids.TryGetValue(epoch, out var seen))
        {
            ids[epoch] = seen = new Dictionary<string, int>(StringComparer.Ordinal);
        }

        return seen;
    }
}
