using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using Parquet;
using Parquet.Schema;

namespace OrleansShards.Grains.Tests;

public sealed class ParquetJobTests : IDisposable
{
    private readonly TestData _data = new();

    public void Dispose() => _data.Dispose();

    private static readonly DataField<long> Id = new("id");
    private static readonly DataField<string> Text = new("text", true);
    private static readonly DataField<double?> Value = new("value");

    /// <summary>Writes a Parquet file of ids <c>[first, first + sum(groups))</c>, one row group per entry.</summary>
    private void WriteParquet(string name, long first, IReadOnlyList<int> groups)
    {
        var schema = new ParquetSchema(Id, Text, Value);
        using var stream = File.Create(Path.Combine(_data.DataDir, name));
        var writer = ParquetWriter.CreateAsync(schema, stream).GetAwaiter().GetResult();
        var next = first;
        foreach (var size in groups)
        {
            var ids = Enumerable.Range(0, size).Select(k => next + k).ToArray();
            next += size;
            using var group = writer.CreateRowGroup();
            group.WriteAsync<long>(Id, ids).GetAwaiter().GetResult();
            group.WriteAsync(Text, ids.Select(i => i % 11 == 0 ? null : $"text \"{i}\",\n").ToArray()).GetAwaiter().GetResult();
            group.WriteAsync<double>(Value, ids.Select(i => i % 5 == 0 ? (double?)null : i * 0.5).ToArray()).GetAwaiter().GetResult();
        }

        writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static JobSpec Spec(string id, long shardSize = 5_000, int epochs = 2) => new()
    {
        Id = id,
        Source = new SourceSpec { Kind = "parquet", Paths = ["part-*.parquet"] },
        ShardSize = shardSize,
        Epochs = epochs,
        Shuffle = true,
        Seed = 7,
        LeaseTimeoutSeconds = 60,
        MaxAttempts = 5,
        Durability = JobSpec.Strict,
    };

    [Fact]
    public async Task Two_silos_and_four_workers_deliver_every_parquet_row_exactly_once_per_epoch()
    {
        // Row groups of uneven sizes that shards of 5,000 cut across.
        WriteParquet("part-0.parquet", 0, [12_000, 7, 3_993, 9_000]);
        WriteParquet("part-1.parquet", 25_000, [4_999, 5_001, 1]);
        WriteParquet("part-2.parquet", 35_001, [14_999]);
        const long rows = 50_000;
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2);
        var job = cluster.Client.GetGrain<IJobGrain>("parquet");
        var created = await job.Create(Spec("parquet"));
        Assert.True(created.Created);
        Assert.Equal([25_000L, 10_001L, 14_999L], created.Status.Partitions.Select(p => p.Records));

        var deliveries = new Deliveries();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => new ThickWorker(cluster, "parquet", $"w{w}", deliveries).RunAsync()));

        deliveries.AssertExactlyOnce(epochs: 2, rows);
        var status = await job.GetStatus();
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(2 * rows, status.Records.Delivered);

        // A thin worker grain reads inside a silo: typed JSON values.
        var thinJob = cluster.Client.GetGrain<IJobGrain>("parquet-thin");
        await thinJob.Create(Spec("parquet-thin", shardSize: 3_000, epochs: 1) with { Shuffle = false });
        var worker = cluster.Client.GetGrain<IWorkerGrain>("parquet-thin-1");
        var thin = new Deliveries();
        while (true)
        {
            var batch = await worker.Next("parquet-thin", 2_000);
            if (batch.TaskId is null)
            {
                if (batch.JobState == JobStates.Completed)
                {
                    break;
                }

                await Task.Delay(20);
                continue;
            }

            using var records = JsonDocument.Parse(batch.RecordsJson);
            foreach (var record in records.RootElement.EnumerateArray())
            {
                var id = record.GetProperty("id").GetInt64();
                thin.Add(batch.Epoch, id, batch.TaskId);
                Assert.Equal(id % 11 == 0 ? null : $"text \"{id}\",\n", record.GetProperty("text").GetString());
                Assert.Equal(id % 5 == 0 ? JsonValueKind.Null : JsonValueKind.Number, record.GetProperty("value").ValueKind);
            }
        }

        thin.AssertExactlyOnce(epochs: 1, rows);
    }

    [Fact]
    public async Task Bad_parquet_input_is_refused_at_creation_or_dead_lettered_naming_the_place()
    {
        WriteParquet("part-0.parquet", 0, [1_000, 1_000]);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1);

        // A truncated file: the job is refused at creation, naming the file.
        var whole = await File.ReadAllBytesAsync(Path.Combine(_data.DataDir, "part-0.parquet"), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(Path.Combine(_data.DataDir, "cut.parquet"), whole[..(whole.Length / 2)], TestContext.Current.CancellationToken);
        var refused = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IJobGrain>("cut").Create(Spec("cut") with { Source = new SourceSpec { Kind = "parquet", Paths = ["cut.parquet"] } }));
        Assert.Equal(ShardsErrorKind.Invalid, refused.Kind);
        Assert.Contains("cut.parquet", refused.Message, StringComparison.Ordinal);
        Assert.Contains("not a readable Parquet file", refused.Message, StringComparison.Ordinal);

        // The pages of column "text" in the second row group are garbage: that shard is dead-lettered, the other delivered.
        long offset, size;
        var path = Path.Combine(_data.DataDir, "part-0.parquet");
        await using (var pq = await ParquetReader.CreateAsync(path))
        {
            var meta = pq.OpenRowGroupReader(1).GetMetadata(pq.Schema.DataFields[1])!.MetaData!;
            offset = meta.DictionaryPageOffset ?? meta.DataPageOffset;
            size = meta.TotalCompressedSize;
        }

        await using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            fs.Position = offset;
            fs.Write(Enumerable.Repeat((byte)0x5A, (int)size).ToArray());
        }

        // A projection naming a column the file lacks is refused as invalid, naming the column.
        var columns = cluster.Client.GetGrain<IJobGrain>("columns");
        await columns.Create(Spec("columns", shardSize: 1_000, epochs: 1));
        var lease = (await columns.Lease(new LeaseRequest("probe", 1))).Leases[0];
        var missing = await Assert.ThrowsAsync<ShardsException>(async () => await cluster.Reader.ReadAsync(await columns.GetReadPlan(), lease.TaskId, 0, null, ["id", "nope"], CancellationToken.None));
        Assert.Equal((ShardsErrorKind.Invalid, "columns"), (missing.Kind, missing.Field));
        Assert.Contains("'nope'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("part-0.parquet", missing.Message, StringComparison.Ordinal);

        var job = cluster.Client.GetGrain<IJobGrain>("garbage");
        await job.Create(Spec("garbage", shardSize: 1_000, epochs: 1) with { Shuffle = false, MaxAttempts = 1 });

        var worker = cluster.Client.GetGrain<IWorkerGrain>("garbage-1");
        var delivered = new Deliveries();
        var errors = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            WorkerBatch batch;
            try
            {
                batch = await worker.Next("garbage", 1_000);
            }
            catch (ShardsException e)
            {
                errors.Add(e.Message);
                continue;
            }

            if (batch.TaskId is null)
            {
                if (batch.JobState is JobStates.Completed or JobStates.Failed)
                {
                    break;
                }

                await Task.Delay(20);
                continue;
            }

            using var records = JsonDocument.Parse(batch.RecordsJson);
            foreach (var record in records.RootElement.EnumerateArray())
            {
                delivered.Add(0, record.GetProperty("id").GetInt64(), batch.TaskId);
            }
        }

        var error = Assert.Single(errors);
        Assert.Contains("part-0.parquet", error, StringComparison.Ordinal);
        Assert.Contains("row group 1, column 'text'", error, StringComparison.Ordinal);
        var status = await job.GetStatus();
        var dead = Assert.Single(status.DeadLetters);
        Assert.Contains("row group 1, column 'text'", dead.LastError, StringComparison.Ordinal);
        Assert.All(Enumerable.Range(0, 1_000), id => Assert.Equal(1, delivered.Count(0, id)));
        Assert.All(Enumerable.Range(1_000, 1_000), id => Assert.Equal(0, delivered.Count(0, id)));
    }
}
