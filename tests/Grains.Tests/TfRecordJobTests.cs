using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers.TfRecord;

namespace OrleansShards.Grains.Tests;

public sealed class TfRecordJobTests : IDisposable
{
    private readonly TestData _data = new();

    public void Dispose() => _data.Dispose();

    /// <summary>A tf.train.Example with an int64 feature "id" and a bytes feature "text".</summary>
    private static byte[] Example(long id)
    {
        static byte[] Message(Action<CodedOutputStream> write)
        {
            using var ms = new MemoryStream();
            using (var o = new CodedOutputStream(ms, leaveOpen: true))
            {
                write(o);
            }

            return ms.ToArray();
        }

        static byte[] Entry(string key, int listField, byte[] list) => Message(e =>
        {
            e.WriteTag(1, WireFormat.WireType.LengthDelimited);
            e.WriteString(key);
            e.WriteTag(2, WireFormat.WireType.LengthDelimited);
            e.WriteBytes(ByteString.CopyFrom(Message(f =>
            {
                f.WriteTag(listField, WireFormat.WireType.LengthDelimited);
                f.WriteBytes(ByteString.CopyFrom(list));
            })));
        });

        var ids = Message(l =>
        {
            l.WriteTag(1, WireFormat.WireType.LengthDelimited);
            l.WriteBytes(ByteString.CopyFrom(Message(p => p.WriteInt64(id))));
        });
        var text = Message(l =>
        {
            l.WriteTag(1, WireFormat.WireType.LengthDelimited);
            l.WriteBytes(ByteString.CopyFromUtf8(id % 13 == 0 ? $"quoted \"{id}\"\nline" : $"plain {id}"));
        });
        var features = Message(f =>
        {
            f.WriteTag(1, WireFormat.WireType.LengthDelimited);
            f.WriteBytes(ByteString.CopyFrom(Entry("id", 3, ids)));
            f.WriteTag(1, WireFormat.WireType.LengthDelimited);
            f.WriteBytes(ByteString.CopyFrom(Entry("text", 1, text)));
        });
        return Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(features));
        });
    }

    /// <summary>Writes files holding ids <c>[0, rows)</c>; returns the byte offset of every record of each file.</summary>
    private List<long[]> WriteTfRecords(string pattern, long rows, int files)
    {
        var result = new List<long[]>();
        var perFile = rows / files;
        for (var f = 0; f < files; f++)
        {
            var first = f * perFile;
            var last = f == files - 1 ? rows : first + perFile;
            using var fs = File.Create(Path.Combine(_data.DataDir, string.Format(CultureInfo.InvariantCulture, pattern, f)));
            var writer = new TfRecordWriter(fs);
            var offsets = new long[last - first];
            for (var id = first; id < last; id++)
            {
                offsets[id - first] = writer.BytesWritten;
                writer.Write(Example(id));
            }

            result.Add(offsets);
        }

        return result;
    }

    private static JobSpec Spec(string id, long shardSize, int epochs, int maxAttempts, bool shuffle) => new()
    {
        Id = id,
        Source = new SourceSpec { Kind = "tfrecord", Paths = ["part-*.tfrecord"] },
        ShardSize = shardSize,
        Epochs = epochs,
        Shuffle = shuffle,
        Seed = 5,
        MaxAttempts = maxAttempts,
    };

    [Fact]
    public async Task Two_silos_and_three_workers_deliver_every_tfrecord_id_exactly_once_per_epoch()
    {
        const long rows = 30_000;
        WriteTfRecords("part-{0}.tfrecord", rows, 3);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2);
        var job = cluster.Client.GetGrain<IJobGrain>("tfrecords");
        var created = await job.Create(Spec("tfrecords", shardSize: 2_500, epochs: 2, maxAttempts: 3, shuffle: true));
        Assert.True(created.Created);
        Assert.Equal(rows, created.Status.Partitions.Sum(p => p.Records));
        Assert.Equal(12, created.Status.Shards.Total);

        var deliveries = new Deliveries();
        var reports = await Task.WhenAll(Enumerable.Range(0, 3).Select(w => new ThickWorker(cluster, "tfrecords", $"w{w}", deliveries).RunAsync()));

        deliveries.AssertExactlyOnce(epochs: 2, rows);
        Assert.Equal(24, reports.Sum());
        var status = await job.GetStatus();
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(2 * rows, status.Records.Delivered);
        Assert.Empty(status.DeadLetters);

        // The whole record as a worker receives it: one column per feature.
        var plan = await job.GetReadPlan();
        using var page = await cluster.Reader.ReadAsync(plan, TaskIds.Format(0, new ShardRange(0, 0, 2_500)), 0, 2_500, null, CancellationToken.None);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            page.WriteRecords(writer);
        }

        using var records = JsonDocument.Parse(buffer.WrittenMemory);
        var byId = records.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("id").GetInt64(), r => r.GetProperty("text").GetString());
        Assert.Equal(2_500, byId.Count);
        Assert.Equal("quoted \"13\"\nline", byId[13]);
        Assert.Equal("plain 14", byId[14]);
    }

    [Fact]
    public async Task A_corrupted_record_dead_letters_exactly_its_shard_and_the_rest_completes()
    {
        const long rows = 10_000;
        var offsets = WriteTfRecords("part-{0}.tfrecord", rows, 1)[0];
        var path = Path.Combine(_data.DataDir, "part-0.tfrecord");
        var bytes = File.ReadAllBytes(path);
        bytes[offsets[4321] + 12 + 3] ^= 0x40; // a data byte of record 4321, in the shard [4000, 5000)
        File.WriteAllBytes(path, bytes);

        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2);
        var job = cluster.Client.GetGrain<IJobGrain>("corrupt");
        var created = await job.Create(Spec("corrupt", shardSize: 1_000, epochs: 1, maxAttempts: 1, shuffle: false));
        Assert.Equal(rows, created.Status.Partitions.Sum(p => p.Records));

        // Thin workers: the worker grain reads inside the silo and reports a shard it cannot read as failed.
        var deliveries = new Deliveries();
        var failures = new List<string>();
        async Task Work(string name)
        {
            var worker = cluster.Client.GetGrain<IWorkerGrain>(name);
            while (true)
            {
                WorkerBatch batch;
                try
                {
                    batch = await worker.Next("corrupt", 600);
                }
                catch (ShardsException e)
                {
                    lock (failures)
                    {
                        failures.Add(e.Message);
                    }

                    continue;
                }

                if (batch.TaskId is null)
                {
                    if (batch.JobState is JobStates.Completed or JobStates.Failed)
                    {
                        return;
                    }

                    await Task.Delay(20);
                    continue;
                }

                using var records = JsonDocument.Parse(batch.RecordsJson);
                foreach (var record in records.RootElement.EnumerateArray())
                {
                    deliveries.Add(batch.Epoch, record.GetProperty("id").GetInt64(), batch.TaskId);
                }
            }
        }

        await Task.WhenAll(Work("tf-a"), Work("tf-b"));

        var status = await job.GetStatus();
        Assert.Equal(JobStates.Failed, status.State);
        var dead = Assert.Single(status.DeadLetters);
        Assert.Equal(new ShardRange(0, 4_000, 5_000), dead.Shard);
        Assert.Equal(1, dead.Attempts);
        Assert.Contains("part-0.tfrecord", dead.LastError, StringComparison.Ordinal);
        Assert.Contains("record 4321", dead.LastError, StringComparison.Ordinal);
        Assert.Contains($"byte offset {offsets[4321]}", dead.LastError, StringComparison.Ordinal);
        Assert.Contains("data CRC check failed", dead.LastError, StringComparison.Ordinal);
        Assert.Equal(9, status.EpochHistory[0].ShardsDone);
        var failure = Assert.Single(failures);
        Assert.Contains("record 4321", failure, StringComparison.Ordinal);

        // Every other id exactly once; none of the dead shard's (its first page holds the corrupted record).
        for (long id = 0; id < rows; id++)
        {
            Assert.Equal(id is >= 4_000 and < 5_000 ? 0 : 1, deliveries.Count(0, id));
        }
    }
}
