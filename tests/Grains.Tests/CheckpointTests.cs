using System.Globalization;
using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests;

public sealed class CheckpointTests : IDisposable
{
    private const long Rows = 60_000;
    private const long RowsPerFile = 20_000;
    private readonly TestData _data = new();
    private readonly TestData _elsewhere = new();

    public void Dispose()
    {
        _data.Dispose();
        _elsewhere.Dispose();
    }

    private static JobSpec Spec(string id) => new()
    {
        Id = id,
        Source = new SourceSpec { Kind = "csv", Paths = ["part-*.csv"] },
        ShardSize = 2_000,
        Epochs = 2,
        Shuffle = true,
        Seed = 29,
        LeaseTimeoutSeconds = 120,
        MaxAttempts = 5,
    };

    private static CheckpointDocument ThroughJson(CheckpointDocument document)
    {
        var json = JsonSerializer.Serialize(document, JsonSerializerOptions.Web);
        return JsonSerializer.Deserialize<CheckpointDocument>(json, JsonSerializerOptions.Web)!;
    }

    [Fact]
    public async Task A_checkpoint_taken_mid_run_continues_in_a_new_cluster_and_no_id_is_missing()
    {
        _data.WriteCsv("part-{0}.csv", Rows, 3);
        var deliveries = new Deliveries();
        var inFlight = new List<TaskLease>();
        TaskLease released;
        JobStatus before;
        string json;
        await using (var first = await ShardsCluster.StartAsync(_data, silos: 2))
        {
            var job = first.Client.GetGrain<IJobGrain>("moving");
            await job.Create(Spec("moving"));
            var workers = Enumerable.Range(0, 3).Select(w => new ThickWorker(first, "moving", $"a{w}", deliveries)).ToList();
            await Task.WhenAll(workers.Select(w => w.RunAsync(maxTasks: 2, stopAfterReports: 6)));
            inFlight.AddRange(workers.SelectMany(w => w.Unreported));
            // A released lease leaves a re-queued shard with a retry record behind.
            released = Assert.Single((await job.Lease(new LeaseRequest("releaser", 1))).Leases);
            Assert.Equal(1, await job.Release("releaser", [released.LeaseId]));

            before = await job.GetStatus();
            var document = await job.ExportCheckpoint();
            json = JsonSerializer.Serialize(document, JsonSerializerOptions.Web);

            Assert.Equal(("orleans-shards-checkpoint", 1, "moving"), (document.Format, document.Version, document.JobId));
            Assert.Equal(["part-0.csv", "part-1.csv", "part-2.csv"], document.Files!.Select(f => f.Path));
            Assert.All(document.Files!, f => Assert.Equal(RowsPerFile, f.Records));
            Assert.Equal(30, document.Shards);
            Assert.Equal(inFlight.Select(l => l.TaskId).Order(), document.Doing!.Select(d => d.TaskId).Order());
            Assert.Equal([released.TaskId], document.Todo!.Requeued);
            Assert.Equal(18 + inFlight.Count + 1, document.Todo.Cursor);
            Assert.Equal(18, document.Done!.Shards);
            Assert.Equal(18 * 2_000, document.Done.TotalRecords);
            Assert.Contains(document.Retries!, r => r.TaskId == released.TaskId && r.Leases == 1 && r.FailedAttempts == 0);
            Assert.All(document.Splitters!, s => Assert.True(s.Acknowledged && s.SplitUpTo == RowsPerFile));
            Assert.Equal(("csv", true, ","), (document.Spec!.Source!.Kind, document.Spec.Source.Header, document.Spec.Source.Delimiter));
        }

        // Nothing of this machine's layout leaks into the document: paths are as users name them.
        Assert.DoesNotContain(_data.Root, json, StringComparison.Ordinal);
        Assert.NotEmpty(inFlight);

        // Another machine: its own data directory holding the same files, its own state file.
        foreach (var file in Directory.GetFiles(_data.DataDir, "part-*.csv"))
        {
            File.Copy(file, Path.Combine(_elsewhere.DataDir, Path.GetFileName(file)));
        }

        await using var second = await ShardsCluster.StartAsync(_elsewhere, silos: 2);
        var imported = second.Client.GetGrain<IJobGrain>("moving");
        await Assert.ThrowsAsync<ShardsException>(imported.GetStatus);
        var created = await imported.ImportCheckpoint(JsonSerializer.Deserialize<CheckpointDocument>(json, JsonSerializerOptions.Web)!);
        Assert.True(created.Created);

        // The shards that were in flight are to do again; what was done stays done.
        var status = created.Status;
        Assert.Equal((0L, before.Shards.Todo + before.Shards.Doing, before.Shards.Done), (status.Shards.Doing, status.Shards.Todo, status.Shards.Done));
        Assert.Equal(before.Records.Delivered, status.Records.Delivered);
        Assert.Equal(JobStates.Running, status.State);
        Assert.Equal("part-0.csv", status.Partitions[0].Path);
        Assert.All(status.Partitions, p => Assert.True(p.Acknowledged));
        Assert.Contains("moving", await second.Client.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).List());
        var splitter = await second.Client.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf("moving", 1)).GetStatus();
        Assert.Equal((1, RowsPerFile, true), (splitter.Partition, splitter.SplitUpTo, splitter.Acknowledged));

        // Re-queued shards come first, each as its next attempt: the re-queue counted no failure.
        var probe = await imported.Lease(new LeaseRequest("probe", inFlight.Count + 1));
        Assert.Equal(inFlight.Select(l => l.TaskId).Append(released.TaskId).Order(), probe.Leases.Select(l => l.TaskId).Order());
        Assert.All(probe.Leases, l => Assert.Equal(2, l.Attempt));
        var plan = await imported.GetReadPlan();
        Assert.StartsWith(_elsewhere.DataDir, plan.Files[0].Path, StringComparison.Ordinal);
        foreach (var lease in probe.Leases)
        {
            using (var page = await second.Reader.ReadAsync(plan, lease.TaskId, 0, (int)lease.Shard.Length, ["id"], CancellationToken.None))
            {
                for (var i = 0; i < page.Count; i++)
                {
                    deliveries.Add(lease.Epoch, long.Parse(page.GetText(i, "id")!, CultureInfo.InvariantCulture), lease.TaskId);
                }
            }

            await imported.Report(new TaskReport(lease.TaskId, lease.LeaseId, "probe", Done: true));
        }

        await Task.WhenAll(Enumerable.Range(0, 3).Select(w => new ThickWorker(second, "moving", $"b{w}", deliveries).RunAsync()));

        for (var epoch = 0; epoch < 2; epoch++)
        {
            Assert.Empty(deliveries.Missing(epoch, Rows));
        }

        // Repeats lie only in the shards that were in flight at the export, each read once on either side.
        var repeated = deliveries.Repeated.ToList();
        Assert.All(repeated, r =>
        {
            Assert.Equal((0, 2), (r.Epoch, r.Count));
            Assert.Contains(inFlight, l => l.Shard.Partition == (int)(r.Id / RowsPerFile) && r.Id % RowsPerFile >= l.Shard.Start && r.Id % RowsPerFile < l.Shard.End);
        });
        Assert.Equal(inFlight.Sum(l => l.Shard.Length), repeated.Count);
        var final = await imported.GetStatus();
        Assert.Equal(JobStates.Completed, final.State);
        Assert.Equal(2 * Rows, final.Records.Delivered);
    }

    [Fact]
    public async Task Documents_of_an_unknown_version_a_changed_file_or_foreign_shards_are_refused_with_the_reason()
    {
        _data.WriteCsv("part-{0}.csv", Rows, 3);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1);
        var source = cluster.Client.GetGrain<IJobGrain>("origin");
        await source.Create(Spec("origin"));
        var leases = await source.Lease(new LeaseRequest("w", 3));
        await source.Report(new TaskReport(leases.Leases[0].TaskId, leases.Leases[0].LeaseId, "w", Done: true));
        var document = ThroughJson(await source.ExportCheckpoint());

        async Task<ShardsException> Refused(string id, CheckpointDocument refused, ShardsErrorKind kind = ShardsErrorKind.Invalid)
        {
            var error = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IJobGrain>(id).ImportCheckpoint(refused));
            Assert.Equal(kind, error.Kind);
            return error;
        }

        var taken = await Refused("origin", document, ShardsErrorKind.Conflict);
        Assert.Contains("exists", taken.Message, StringComparison.Ordinal);

        var v2 = await Refused("v2", document with { Version = 2 });
        Assert.Equal("version", v2.Field);
        Assert.Equal("version 2 is not supported; this server reads version 1", v2.Message);
        var format = await Refused("other-format", document with { Format = "tf-checkpoint" });
        Assert.Equal("format", format.Field);

        var foreign = await Refused("foreign", document with { Todo = document.Todo! with { Requeued = ["e0.p0.0-1234"] } });
        Assert.Equal("todo.requeued[0]", foreign.Field);
        Assert.Contains("not a shard", foreign.Message, StringComparison.Ordinal);
        var noPartition = await Refused("no-partition", document with { Doing = [document.Doing![0] with { TaskId = "e0.p7.0-2000" }] });
        Assert.Equal("doing[0].taskId", noPartition.Field);
        var cursor = await Refused("cursor", document with { Todo = document.Todo! with { Cursor = 31 } });
        Assert.Equal("todo.cursor", cursor.Field);
        var shardCount = await Refused("shard-size", document with { Spec = document.Spec! with { ShardSize = 3_000 } });
        Assert.Equal("shards", shardCount.Field);
        var leaseId = await Refused("lease-id", document with { NextLeaseSequence = 1 });
        Assert.StartsWith("doing[", leaseId.Field, StringComparison.Ordinal);

        // A valid document imports under another id in the same cluster.
        var copy = await cluster.Client.GetGrain<IJobGrain>("copy").ImportCheckpoint(document);
        Assert.Equal((29L, 0L, 1L), (copy.Status.Shards.Todo, copy.Status.Shards.Doing, copy.Status.Shards.Done));

        // One more row in a file: the file differs from the one the checkpoint was cut from.
        File.AppendAllText(Path.Combine(_data.DataDir, "part-1.csv"), "99999,late,0\n");
        var changed = await Refused("changed", document);
        Assert.Equal("files[1]", changed.Field);
        Assert.Contains("part-1.csv", changed.Message, StringComparison.Ordinal);
        Assert.Contains("20001 records, the checkpoint 20000", changed.Message, StringComparison.Ordinal);
        Assert.Contains("content hash", changed.Message, StringComparison.Ordinal);

        // Nothing refused was created.
        var jobs = await cluster.Client.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).List();
        Assert.Equal(["copy", "origin"], jobs);
        var missing = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IJobGrain>("changed").GetStatus());
        Assert.Equal(ShardsErrorKind.NotFound, missing.Kind);
    }
}
