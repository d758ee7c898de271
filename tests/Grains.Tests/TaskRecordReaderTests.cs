using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;
using OrleansShards.Readers.Csv;

namespace OrleansShards.Grains.Tests;

/// <summary>
/// The pages of a shuffled shard against the shard read whole, on a real CSV file and the real CSV reader; the reads
/// that reach the reader are recorded by an adapter that passes every request on to it.
/// </summary>
public sealed class TaskRecordReaderTests : IDisposable
{
    private const int Rows = 3_000;
    private const int ShardSize = 1_000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "task-record-reader-" + Guid.NewGuid().ToString("N"));
    private readonly string _path;
    private readonly RecordingAdapter _adapter = new();

    public TaskRecordReaderTests()
    {
        Directory.CreateDirectory(_dir);
        _path = Path.Combine(_dir, "rows.csv");
        var text = new StringBuilder("id,text\n");
        for (var r = 0; r < Rows; r++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{r},\"row {r}, quoted\"\n");
        }

        File.WriteAllText(_path, text.ToString());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<JobReadPlan> Plan(bool shuffle)
    {
        var description = await new CsvPartitionReader().DescribeAsync(_path);
        var f = description.Fingerprint;
        return new JobReadPlan(
            new SourceSpec { Kind = "csv", Paths = [_path], Header = true },
            [new PinnedFile(_path, description.RecordCount, f.Length, f.LastWriteTimeUtcTicks, f.ContentHash)],
            ShardSize, CurrentEpoch: 1, Epochs: 2, shuffle, Seed: 77);
    }

    private TaskRecordReader Reader(ShardBatchCache cache)
    {
        var options = Options.Create(new ShardsOptions { DataDir = _dir });
        return new TaskRecordReader(new SourceReaders(options, [_adapter]), options, cache);
    }

    private static List<string> Ids(RecordPage page)
    {
        var ids = new List<string>(page.Count);
        for (var i = 0; i < page.Count; i++)
        {
            ids.Add(page.GetText(i, "id")!);
        }

        return ids;
    }

    private static string Json(RecordPage page)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            page.WriteRecords(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(333)]
    [InlineData(999)]
    public async Task Pages_of_a_shuffled_shard_are_windows_of_its_whole_seeded_order_and_read_it_once(int limit)
    {
        var plan = await Plan(shuffle: true);
        var cache = new ShardBatchCache(64L << 20, TimeSpan.FromMinutes(1), new FakeTimeProvider());
        var reader = Reader(cache);
        const string task = "e1.p0.1000-2000";
        List<string> whole;
        using (var page = await reader.ReadAsync(plan, task, 0, ShardSize, null, CancellationToken.None))
        {
            Assert.Null(page.NextOffset);
            whole = Ids(page);
        }

        Assert.Equal(Enumerable.Range(1000, 1000).Select(i => i.ToString(CultureInfo.InvariantCulture)).Order(), whole.Order());
        Assert.NotEqual(Enumerable.Range(1000, 1000).Select(i => i.ToString(CultureInfo.InvariantCulture)), whole);

        var paged = new List<string>();
        long? offset = 0;
        while (offset is { } from)
        {
            using var page = await reader.ReadAsync(plan, task, from, limit, null, CancellationToken.None);
            paged.AddRange(Ids(page));
            offset = page.NextOffset;
        }

        Assert.Equal(whole, paged);
        // The whole-shard page read the shard itself; the pages read it at most once more, through the cache.
        Assert.True(cache.Reads <= 1, $"the cache read the shard {cache.Reads} times");
    }

    [Fact]
    public async Task Limit_one_of_a_shuffled_shard_reads_a_small_part_of_it_and_the_same_record_as_the_whole_read()
    {
        var plan = await Plan(shuffle: true);
        var cache = new ShardBatchCache(64L << 20, TimeSpan.FromMinutes(1), new FakeTimeProvider());
        var reader = Reader(cache);
        _adapter.Requests.Clear();
        string one;
        using (var page = await reader.ReadAsync(plan, "e0.p0.0-1000", 500, 1, null, CancellationToken.None))
        {
            Assert.Equal(1, page.Count);
            Assert.Equal(501, page.NextOffset);
            one = Json(page);
        }

        var request = Assert.Single(_adapter.Requests);
        Assert.True(request.End - request.Start < ShardSize / 2, $"limit=1 read [{request.Start}, {request.End})");
        Assert.Equal(0, cache.Reads);

        using var whole = await reader.ReadAsync(plan, "e0.p0.0-1000", 0, ShardSize, null, CancellationToken.None);
        using var all = JsonDocument.Parse(Json(whole));
        Assert.Equal($"[{all.RootElement[500].GetRawText()}]", one);
    }

    [Fact]
    public async Task A_page_stays_readable_after_its_shard_is_evicted_and_the_cache_keeps_its_budget()
    {
        var plan = await Plan(shuffle: true);
        // Room for about one shard (a shard of this file is estimated at twice its ~26 kB of CSV).
        var cache = new ShardBatchCache(60_000, TimeSpan.FromMinutes(1), new FakeTimeProvider());
        var reader = Reader(cache);
        using var first = await reader.ReadAsync(plan, "e0.p0.0-1000", 0, 600, null, CancellationToken.None);
        var before = Json(first);
        using (var other = await reader.ReadAsync(plan, "e0.p0.1000-2000", 0, 600, null, CancellationToken.None))
        {
            Assert.Equal(600, other.Count);
        }

        Assert.True(cache.UsedBytes <= cache.BudgetBytes, $"{cache.UsedBytes} bytes held of {cache.BudgetBytes}");
        Assert.Equal(before, Json(first));
        using var again = await reader.ReadAsync(plan, "e0.p0.0-1000", 600, 400, null, CancellationToken.None);
        Assert.Equal(3, cache.Reads);
        Assert.Null(again.NextOffset);
    }

    [Fact]
    public async Task The_page_at_the_end_of_a_shuffled_shard_is_empty_and_has_no_next_offset()
    {
        var plan = await Plan(shuffle: true);
        var reader = Reader(new ShardBatchCache(64L << 20, TimeSpan.FromMinutes(1), new FakeTimeProvider()));
        using var page = await reader.ReadAsync(plan, "e0.p0.0-1000", ShardSize, 10, null, CancellationToken.None);
        Assert.Equal(0, page.Count);
        Assert.Null(page.NextOffset);
        Assert.Equal("[]", Json(page));
        using var arrow = page.ToArrow();
        Assert.Equal(0, arrow.Length);
        Assert.Equal(["id", "text"], arrow.Schema.FieldsList.Select(f => f.Name));
    }

    [Fact]
    public async Task An_unshuffled_page_reads_only_its_range()
    {
        var plan = await Plan(shuffle: false);
        var reader = Reader(new ShardBatchCache(64L << 20, TimeSpan.FromMinutes(1), new FakeTimeProvider()));
        _adapter.Requests.Clear();
        using var page = await reader.ReadAsync(plan, "e0.p0.2000-3000", 100, 50, null, CancellationToken.None);
        Assert.Equal(Enumerable.Range(2100, 50).Select(i => i.ToString(CultureInfo.InvariantCulture)), Ids(page));
        var request = Assert.Single(_adapter.Requests);
        Assert.Equal((2100, 2150), (request.Start, request.End));
    }

    /// <summary>Files as the silo reads them (the real CSV reader), recording each read request it passes on.</summary>
    private sealed class RecordingAdapter : ISourceAdapter
    {
        private readonly Recording _reader;

        public RecordingAdapter() => _reader = new Recording(new CsvPartitionReader(), Requests);

        public ConcurrentQueue<ShardReadRequest> Requests { get; } = new();

        public IReadOnlyList<string> Kinds => ["csv"];

        public ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<string>>(source.Paths!);

        // One reader per configuration, as the silo's adapters keep (the shard cache knows a shard by its reader).
        public IPartitionReader ReaderFor(SourceSpec source) => _reader;

        public string Display(string locator) => locator;

        private sealed class Recording(IPartitionReader inner, ConcurrentQueue<ShardReadRequest> requests) : IPartitionReader
        {
            public ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default) => inner.DescribeAsync(path, cancellationToken);

            public ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
            {
                requests.Enqueue(request);
                return inner.ReadAsync(request, cancellationToken);
            }
        }
    }
}
