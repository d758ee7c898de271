using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using FsCheck;
using FsCheck.Xunit;
using OrleansShards.Core;
using OrleansShards.Readers;
using OrleansShards.StaticIteration;

namespace OrleansShards.Client.Tests;

/// <summary>Real files in a temporary directory: four CSV files (one without records) of 101 records, and a JSON Lines file of 53.</summary>
public sealed class StaticSourceFixture : IDisposable
{
    public const int CsvRecords = 101;
    public const int JsonRecords = 53;

    public StaticSourceFixture()
    {
        Directory.CreateDirectory(Root);
        var id = 0;
        foreach (var (name, rows) in new[] { ("a.csv", 37), ("b.csv", 0), ("c.csv", 58), ("d.csv", 6) })
        {
            var text = new StringBuilder("id,name,note\n");
            for (var i = 0; i < rows; i++, id++)
            {
                text.Append(id).Append(",name ").Append(id).Append(',').Append(id % 9 == 0 ? "\"two\nlines, \"\"q\"\"\"" : "plain").Append('\n');
            }

            File.WriteAllText(Path.Combine(Root, name), text.ToString());
        }

        var lines = new StringBuilder();
        for (var i = 0; i < JsonRecords; i++)
        {
            lines.Append(CultureInfo.InvariantCulture, $$"""{"id":{{i}},"x":{{i / 2.0}},"ok":{{(i % 2 == 0 ? "true" : "false")}},"s":"v{{i}}"}""").Append('\n');
        }

        File.WriteAllText(Path.Combine(Root, "e.jsonl"), lines.ToString());
        CsvFiles = [.. new[] { "a.csv", "b.csv", "c.csv", "d.csv" }.Select(f => Path.Combine(Root, f))];
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "static-iterator-" + Guid.NewGuid().ToString("N")[..8]);

    public IReadOnlyList<string> CsvFiles { get; }

    public IPartitionReader Csv { get; } = PartitionReaders.ForKind("csv");

    public IPartitionReader Json { get; } = PartitionReaders.ForKind("jsonl", indexStride: 4);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class StaticIteratorTests(StaticSourceFixture files) : IClassFixture<StaticSourceFixture>
{
    private sealed record Read(long[] Records, int[] BatchSizes);

    private static async Task<Read> ReadWorker(StaticIterator iterator, StaticIteratorOptions options, int epoch, string idColumn = "id")
    {
        var records = new List<long>();
        var sizes = new List<int>();
        long expectedIndex = 0;
        await foreach (var batch in iterator.ReadAsync(options))
        {
            using (batch)
            {
                if (batch.Epoch != epoch)
                {
                    continue;
                }

                Assert.Equal(expectedIndex++, batch.Index);
                sizes.Add(batch.Count);
                for (var i = 0; i < batch.Count; i++)
                {
                    // The record read is the record named by its index: the CSV ids and JSON ids are the source indexes.
                    Assert.Equal(batch.RecordIndexes[i].ToString(CultureInfo.InvariantCulture), batch.GetText(i, idColumn));
                    records.Add(batch.RecordIndexes[i]);
                }
            }
        }

        return new Read([.. records], [.. sizes]);
    }

    private static async Task<List<(int Epoch, long Index, long[] Records)>> ReadAll(StaticIterator iterator, StaticIteratorOptions options)
    {
        var all = new List<(int, long, long[])>();
        await foreach (var batch in iterator.ReadAsync(options))
        {
            using (batch)
            {
                all.Add((batch.Epoch, batch.Index, [.. batch.RecordIndexes]));
            }
        }

        return all;
    }

    [Property(MaxTest = 300)]
    public async Task Workers_are_disjoint_cover_the_source_or_drop_less_than_a_round_and_repeat_exactly(
        PositiveInt workersArg, PositiveInt batchArg, int limitArg, bool shuffle, long seed, bool drop, PositiveInt blockArg, PositiveInt bufferArg, bool json)
    {
        var workers = 1 + (workersArg.Get % 7);
        var batchSize = 1 + (batchArg.Get % 13);
        var limit = limitArg < 0 ? -1L : limitArg % 130;
        var iterator = json ? new StaticIterator(files.Json, [Path.Combine(files.Root, "e.jsonl")]) : new StaticIterator(files.Csv, files.CsvFiles);
        var total = json ? StaticSourceFixture.JsonRecords : StaticSourceFixture.CsvRecords;
        var expected = limit < 0 ? total : Math.Min(limit, total);
        StaticIteratorOptions Options(int w) => new()
        {
            NumWorkers = workers,
            WorkerIndex = w,
            BatchSize = batchSize,
            Epochs = 2,
            Shuffle = shuffle,
            Seed = seed,
            Limit = limit,
            DropRemainder = drop,
            Columns = json ? ["s", "id"] : null,
            ShuffleBlockSize = 1 + (blockArg.Get % 9),
            ShuffleBufferBlocks = 1 + (bufferArg.Get % 4),
        };

        for (var epoch = 0; epoch < 2; epoch++)
        {
            var reads = new List<Read>();
            for (var w = 0; w < workers; w++)
            {
                var read = await ReadWorker(iterator, Options(w), epoch);
                var plan = await iterator.PlanAsync(Options(w));
                Assert.Equal((plan.WorkerBatches, plan.WorkerRecords), ((long)read.BatchSizes.Length, (long)read.Records.Length));
                reads.Add(read);
            }

            var union = reads.SelectMany(r => r.Records).ToList();
            Assert.Equal(union.Count, union.Distinct().Count()); // disjoint (and no record twice within a worker)
            Assert.All(union, r => Assert.InRange(r, 0, expected - 1)); // only records within the limit
            if (drop)
            {
                var batches = reads[0].BatchSizes.Length;
                Assert.All(reads, r => Assert.Equal(batches, r.BatchSizes.Length));
                Assert.All(reads.SelectMany(r => r.BatchSizes), s => Assert.Equal(batchSize, s));
                Assert.InRange(expected - union.Count, 0, (workers * batchSize) - 1);
            }
            else
            {
                Assert.Equal(expected, union.Count); // with disjointness: the union is exactly the source (or its limit)
                var counts = reads.Select(r => r.BatchSizes.Length).ToList();
                Assert.InRange(counts.Max() - counts.Min(), 0, 1);
                var shortBatches = reads.SelectMany(r => r.BatchSizes).Count(s => s != batchSize);
                Assert.InRange(shortBatches, 0, 1);
            }

            if (!shuffle)
            {
                // Source order, contiguous slices in worker order.
                Assert.Equal(Enumerable.Range(0, union.Count).Select(i => (long)i), union);
            }
        }

        // The same arguments give the same batches in the same order.
        var last = Options(workers - 1);
        Assert.Equal(await ReadAll(iterator, last), await ReadAll(iterator, last), new BatchComparer());
    }

    private sealed class BatchComparer : IEqualityComparer<List<(int Epoch, long Index, long[] Records)>>
    {
        public bool Equals(List<(int Epoch, long Index, long[] Records)>? x, List<(int Epoch, long Index, long[] Records)>? y) =>
            x!.Count == y!.Count && x.Zip(y).All(p => p.First.Epoch == p.Second.Epoch && p.First.Index == p.Second.Index && p.First.Records.SequenceEqual(p.Second.Records));

        public int GetHashCode(List<(int Epoch, long Index, long[] Records)> obj) => obj.Count;
    }

    [Fact]
    public async Task Shuffling_permutes_differently_each_epoch_and_seed()
    {
        var iterator = new StaticIterator(files.Csv, files.CsvFiles);
        var options = new StaticIteratorOptions { BatchSize = 10, Epochs = 2, Shuffle = true, Seed = 42, ShuffleBlockSize = 8, ShuffleBufferBlocks = 4 };
        var batches = await ReadAll(iterator, options);
        var epoch0 = batches.Where(b => b.Epoch == 0).SelectMany(b => b.Records).ToList();
        var epoch1 = batches.Where(b => b.Epoch == 1).SelectMany(b => b.Records).ToList();
        Assert.Equal(Enumerable.Range(0, 101).Select(i => (long)i), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 101).Select(i => (long)i), epoch1.Order());
        Assert.NotEqual(epoch0.Order(), epoch0);
        Assert.NotEqual(epoch0, epoch1);
        var otherSeed = (await ReadAll(iterator, options with { Seed = 43, Epochs = 1 })).SelectMany(b => b.Records).ToList();
        Assert.NotEqual(epoch0, otherSeed);

        // A batch draws from several blocks of the source, not one run of neighbours.
        Assert.Contains(batches, b => b.Records.Max() - b.Records.Min() > 8);
    }

    [Fact]
    public async Task From_source_resolves_globs_under_the_data_dir_and_batches_give_json_and_arrow()
    {
        var iterator = StaticIterator.FromSource(new SourceSpec { Kind = "csv", Paths = ["*.csv"] }, files.Root);
        Assert.Equal(files.CsvFiles, iterator.Files);
        Assert.Throws<PathOutsideRootsException>(() => StaticIterator.FromSource(new SourceSpec { Kind = "csv", Paths = ["../*.csv"] }, files.Root));

        var first = true;
        await foreach (var batch in iterator.ToIterator(numWorkers: 3, workerIndex: 1, batchSize: 16, columns: ["note", "id"], shuffle: true, seed: 7))
        {
            using (batch)
            {
                using var json = batch.ToJson();
                using var arrow = batch.ToArrow();
                Assert.Equal(["note", "id"], arrow.Schema.FieldsList.Select(f => f.Name));
                Assert.Equal(batch.Count, json.RootElement.GetArrayLength());
                Assert.Equal(batch.Count, arrow.Length);
                var row = 0;
                foreach (var record in json.RootElement.EnumerateArray())
                {
                    Assert.Equal(record.GetProperty("id").GetString(), ((StringArray)arrow.Column(1)).GetString(row));
                    Assert.Equal(record.GetProperty("note").GetString(), ((StringArray)arrow.Column(0)).GetString(row));
                    Assert.Equal(batch.GetText(row, "note"), record.GetProperty("note").GetString());
                    row++;
                }

                if (first)
                {
                    // Worker 1 of 3 gets batches [2, 4) of the 7: records from position 32 of the shuffled order.
                    Assert.Equal(16, batch.Count);
                    first = false;
                }
            }
        }

        var jsonLines = StaticIterator.FromSource(new SourceSpec { Kind = "jsonl", Paths = ["e.jsonl"] }, files.Root);
        await foreach (var batch in jsonLines.ToIterator(numWorkers: 1, workerIndex: 0, batchSize: 53, limit: 20))
        {
            using (batch)
            {
                Assert.Equal(20, batch.Count);
                using var arrow = batch.ToArrow();
                var types = arrow.Schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType.TypeId);
                Assert.Equal((ArrowTypeId.Int64, ArrowTypeId.Double, ArrowTypeId.Boolean, ArrowTypeId.String), (types["id"], types["x"], types["ok"], types["s"]));
                Assert.Equal(9.5, ((DoubleArray)arrow.Column("x")).GetValue(19));
            }
        }
    }

    [Fact]
    public async Task Bad_arguments_name_the_argument()
    {
        var iterator = new StaticIterator(files.Csv, files.CsvFiles);
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
        {
            await foreach (var batch in iterator.ToIterator(numWorkers: 2, workerIndex: 2, batchSize: 4))
            {
                batch.Dispose();
            }
        });
        Assert.Equal("WorkerIndex", error.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => StaticIterator.Plan(10, new StaticIteratorOptions { BatchSize = 0 }));
        Assert.Equal(new StaticIteratorPlan(101, 101, 4, 32, 5), StaticIterator.Plan(101, new StaticIteratorOptions { NumWorkers = 3, WorkerIndex = 2, BatchSize = 8, DropRemainder = true }));
        Assert.Equal(new StaticIteratorPlan(101, 101, 5, 37, 0), StaticIterator.Plan(101, new StaticIteratorOptions { NumWorkers = 3, WorkerIndex = 2, BatchSize = 8 }));
    }
}
