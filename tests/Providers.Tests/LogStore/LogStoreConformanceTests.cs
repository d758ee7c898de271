using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using OrleansShards.Core;
using OrleansShards.Providers.LogStore;

namespace OrleansShards.Providers.Tests.LogStore;

/// <summary>
/// What every log store must do, run against each implementation on a real database: SQLite on a real file,
/// PostgreSQL on a real server started by the assembly's fixture.
/// </summary>
public abstract class LogStoreConformanceTests : IAsyncLifetime
{
    private readonly List<RelationalLogStore> _opened = [];

    /// <summary>Prepares an empty database for this test.</summary>
    protected abstract ValueTask PrepareDatabaseAsync();

    /// <summary>A new store instance on this test's database (a second call is a second process's view of it).</summary>
    protected abstract RelationalLogStore CreateStore(TimeProvider? timeProvider, TimeSpan pollInterval);

    public virtual ValueTask InitializeAsync() => PrepareDatabaseAsync();

    public virtual ValueTask DisposeAsync()
    {
        foreach (var store in _opened)
        {
            store.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    protected RelationalLogStore Open(TimeProvider? timeProvider = null, TimeSpan? pollInterval = null)
    {
        var store = CreateStore(timeProvider, pollInterval ?? TimeSpan.FromMilliseconds(100));
        _opened.Add(store);
        return store;
    }

    protected static ReadOnlyMemory<byte> Json(string json) => Encoding.UTF8.GetBytes(json);

    protected static string Text(LogRecord record) => Encoding.UTF8.GetString(record.Value.Span);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Create_topic_is_idempotent_and_conflicts_on_another_partition_count()
    {
        var store = Open();
        var created = await store.CreateTopicAsync("events", 3, Ct);
        Assert.Equal("events", created.Name);
        Assert.Equal(3, created.Partitions);

        var again = await store.CreateTopicAsync("events", 3, Ct);
        Assert.Equal(created, again);

        var conflict = await Assert.ThrowsAsync<LogStoreException>(async () => await store.CreateTopicAsync("events", 4, Ct));
        Assert.Equal(ShardsErrorKind.Conflict, conflict.Kind);
        Assert.Contains("'events'", conflict.Message, StringComparison.Ordinal);
        Assert.Contains("3 partition", conflict.Message, StringComparison.Ordinal);

        Assert.Equal(created, await store.GetTopicAsync("events", Ct));
        Assert.Null(await store.GetTopicAsync("other", Ct));
    }

    [Fact]
    public async Task Invalid_requests_are_refused_with_the_reason()
    {
        var store = Open();
        Assert.Equal(ShardsErrorKind.Invalid, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.CreateTopicAsync(" ", 1, Ct))).Kind);
        Assert.Equal(ShardsErrorKind.Invalid, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.CreateTopicAsync("t", 0, Ct))).Kind);
        await store.CreateTopicAsync("t", 1, Ct);
        var negative = await Assert.ThrowsAsync<LogStoreException>(async () => await store.ReadAsync("t", 0, -1, 10, Ct));
        Assert.Equal(ShardsErrorKind.Invalid, negative.Kind);
        Assert.Contains("-1", negative.Message, StringComparison.Ordinal);
        Assert.Equal(ShardsErrorKind.Invalid, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.ReadAsync("t", 0, 0, 0, Ct))).Kind);
    }

    [Fact]
    public async Task Topics_are_listed_by_name()
    {
        var store = Open();
        await store.CreateTopicAsync("b", 1, Ct);
        await store.CreateTopicAsync("a", 2, Ct);
        await store.CreateTopicAsync("c", 1, Ct);
        Assert.Equal(["a", "b", "c"], (await store.ListTopicsAsync(Ct)).Select(t => t.Name));
        Assert.Equal(2, (await store.ListTopicsAsync(Ct))[0].Partitions);
    }

    [Fact]
    public async Task Partitions_are_added_and_never_removed()
    {
        var store = Open();
        await store.CreateTopicAsync("grow", 2, Ct);
        var grown = await store.AddPartitionsAsync("grow", 5, Ct);
        Assert.Equal(5, grown.Partitions);
        Assert.Equal(5, (await store.GetTopicAsync("grow", Ct))!.Partitions);

        var appended = await store.AppendAsync("grow", 4, [Json("{\"new\":true}")], Ct);
        Assert.Equal(new AppendResult(0, 1), appended);
        Assert.Equal(new PartitionBounds(0, 0), await store.GetBoundsAsync("grow", 3, Ct));

        Assert.Equal(5, (await store.AddPartitionsAsync("grow", 5, Ct)).Partitions);
        var shrink = await Assert.ThrowsAsync<LogStoreException>(async () => await store.AddPartitionsAsync("grow", 3, Ct));
        Assert.Equal(ShardsErrorKind.Invalid, shrink.Kind);
        Assert.Contains("5 partition", shrink.Message, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<LogStoreException>(async () => await store.AddPartitionsAsync("nope", 3, Ct));
        Assert.Equal(ShardsErrorKind.NotFound, missing.Kind);
    }

    [Fact]
    public async Task Unknown_topic_and_partition_are_named_in_the_error()
    {
        var store = Open();
        await store.CreateTopicAsync("known", 2, Ct);

        var topic = await Assert.ThrowsAsync<LogStoreException>(async () => await store.AppendAsync("unknown", 0, [Json("1")], Ct));
        Assert.Equal(ShardsErrorKind.NotFound, topic.Kind);
        Assert.Contains("'unknown'", topic.Message, StringComparison.Ordinal);

        var partition = await Assert.ThrowsAsync<LogStoreException>(async () => await store.AppendAsync("known", 2, [Json("1")], Ct));
        Assert.Equal(ShardsErrorKind.NotFound, partition.Kind);
        Assert.Contains("partition 2", partition.Message, StringComparison.Ordinal);
        Assert.Contains("2 partition(s)", partition.Message, StringComparison.Ordinal);

        Assert.Equal(ShardsErrorKind.NotFound, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.ReadAsync("known", 7, 0, 10, Ct))).Kind);
        Assert.Equal(ShardsErrorKind.NotFound, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.ReadAsync("unknown", 0, 0, 10, Ct))).Kind);
        Assert.Equal(ShardsErrorKind.NotFound, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.GetBoundsAsync("unknown", 0, Ct))).Kind);
        Assert.Equal(ShardsErrorKind.NotFound, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.TruncateAsync("known", 9, 1, Ct))).Kind);

        // A refused append in a batch of others fails alone: the partition still takes appends.
        Assert.Equal(new AppendResult(0, 1), await store.AppendAsync("known", 1, [Json("1")], Ct));
    }

    [Fact]
    public async Task Appended_batches_read_back_with_exact_bytes_and_consecutive_offsets()
    {
        var store = Open();
        await store.CreateTopicAsync("t", 2, Ct);
        var first = await store.AppendAsync("t", 1, [Json("{\"a\":1}"), Json("\"é€😀\""), Json("[1,2,3]")], Ct);
        Assert.Equal(new AppendResult(0, 3), first);
        var second = await store.AppendAsync("t", 1, [Json("null"), Json("{\"b\":\"x\"}")], Ct);
        Assert.Equal(new AppendResult(3, 5), second);

        // Bytes that are not the whole of their array are stored as the slice, nothing more.
        var backing = Encoding.UTF8.GetBytes("xx{\"slice\":true}yy");
        Assert.Equal(new AppendResult(5, 6), await store.AppendAsync("t", 1, [backing.AsMemory(2, backing.Length - 4)], Ct));

        var read = await store.ReadAsync("t", 1, 0, 100, Ct);
        Assert.Equal([0L, 1, 2, 3, 4, 5], read.Records.Select(r => r.Offset));
        Assert.Equal(["{\"a\":1}", "\"é€😀\"", "[1,2,3]", "null", "{\"b\":\"x\"}", "{\"slice\":true}"], read.Records.Select(Text));
        Assert.Equal(new PartitionBounds(0, 6), read.Bounds);
        Assert.Equal(6, read.NextOffset(0));

        // The other partition has its own offsets.
        Assert.Equal(new AppendResult(0, 1), await store.AppendAsync("t", 0, [Json("0")], Ct));

        var middle = await store.ReadAsync("t", 1, 2, 2, Ct);
        Assert.Equal([2L, 3], middle.Records.Select(r => r.Offset));
    }

    [Fact]
    public async Task Reads_across_page_boundaries_see_every_record_once()
    {
        var store = Open();
        await store.CreateTopicAsync("pages", 1, Ct);
        const int count = 1000;
        for (var start = 0; start < count; start += 250)
        {
            await store.AppendAsync("pages", 0, Enumerable.Range(start, 250).Select(i => Json($"{{\"i\":{i}}}")).ToList(), Ct);
        }

        var seen = new List<LogRecord>();
        var next = 0L;
        while (true)
        {
            var page = await store.ReadAsync("pages", 0, next, 7, Ct);
            if (page.Records.Count == 0)
            {
                break;
            }

            Assert.True(page.Records.Count <= 7);
            seen.AddRange(page.Records);
            next = page.NextOffset(next);
        }

        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), seen.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"{{\"i\":{i}}}"), seen.Select(Text));
    }

    [Fact]
    public async Task Reads_stop_at_their_byte_budget_with_at_least_one_record()
    {
        var store = Open();
        await store.CreateTopicAsync("bytes", 1, Ct);
        // Values of 10, 1,000, 10 and 5,000 bytes (JSON strings).
        string Value(int length) => "\"" + new string('v', length - 2) + "\"";
        await store.AppendAsync("bytes", 0, [Json(Value(10)), Json(Value(1_000)), Json(Value(10)), Json(Value(5_000))], Ct);

        Assert.Equal([0L, 1, 2], (await store.ReadAsync("bytes", 0, 0, 100, 1_020, Ct)).Records.Select(r => r.Offset));
        Assert.Equal([0L, 1], (await store.ReadAsync("bytes", 0, 0, 100, 1_019, Ct)).Records.Select(r => r.Offset));
        Assert.Equal([0L], (await store.ReadAsync("bytes", 0, 0, 100, 10, Ct)).Records.Select(r => r.Offset));

        // A record larger than the budget still comes alone, so a reader always moves on.
        var large = await store.ReadAsync("bytes", 0, 3, 100, 1, Ct);
        Assert.Equal(5_000, Assert.Single(large.Records).Value.Length);
        Assert.Equal(4, large.NextOffset(3));
        await Assert.ThrowsAsync<LogStoreException>(async () => await store.ReadAsync("bytes", 0, 0, 100, 0, Ct));
    }

    [Fact]
    public async Task Reading_at_or_past_the_high_watermark_gives_no_records()
    {
        var store = Open();
        await store.CreateTopicAsync("t", 1, Ct);
        Assert.Empty((await store.ReadAsync("t", 0, 0, 10, Ct)).Records);
        await store.AppendAsync("t", 0, [Json("1"), Json("2")], Ct);
        var atEnd = await store.ReadAsync("t", 0, 2, 10, Ct);
        Assert.Empty(atEnd.Records);
        Assert.Equal(new PartitionBounds(0, 2), atEnd.Bounds);
        Assert.Equal(2, atEnd.NextOffset(2));
        Assert.Empty((await store.ReadAsync("t", 0, 1000, 10, Ct)).Records);
    }

    [Fact]
    public async Task Concurrent_appenders_get_dense_offsets_without_gaps_or_duplicates()
    {
        var store = Open();
        var other = Open();
        await store.CreateTopicAsync("busy", 2, Ct);
        const int producers = 24;
        const int appendsEach = 25;

        // Two store instances on one database stand for two processes: offsets must still be dense.
        var results = await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var mine = new List<(long Offset, string Value)>();
            var target = p % 2 == 0 ? store : other;
            for (var i = 0; i < appendsEach; i++)
            {
                var value = $"{{\"p\":{p},\"i\":{i}}}";
                var batch = i % 5 == 0 ? new[] { Json(value), Json(value + " ") } : new[] { Json(value) };
                var appended = await target.AppendAsync("busy", 1, batch, Ct);
                Assert.Equal(batch.Length, appended.NextOffset - appended.FirstOffset);
                mine.Add((appended.FirstOffset, value));
            }

            return mine;
        }, Ct)));

        var expected = producers * appendsEach + producers * (appendsEach / 5);
        var read = await store.ReadAsync("busy", 1, 0, expected + 10, Ct);
        Assert.Equal(Enumerable.Range(0, expected).Select(i => (long)i), read.Records.Select(r => r.Offset));
        var byOffset = read.Records.ToDictionary(r => r.Offset, Text);
        foreach (var (offset, value) in results.SelectMany(r => r))
        {
            Assert.Equal(value, byOffset[offset]);
        }

        Assert.Equal(new PartitionBounds(0, expected), await other.GetBoundsAsync("busy", 1, Ct));
        Assert.Equal(new PartitionBounds(0, 0), await store.GetBoundsAsync("busy", 0, Ct));

        // Group commit: far fewer transactions than appends (each instance's writer batches what queued up).
        Assert.True(store.Transactions + other.Transactions <= producers * appendsEach + 10,
            $"{store.Transactions + other.Transactions} transactions for {producers * appendsEach} appends");
    }

    [Fact]
    public async Task Truncation_removes_the_prefix_and_reads_below_it_say_where_the_log_starts()
    {
        var store = Open();
        await store.CreateTopicAsync("t", 1, Ct);
        await store.AppendAsync("t", 0, Enumerable.Range(0, 10).Select(i => Json(i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList(), Ct);

        Assert.Equal(4, await store.TruncateAsync("t", 0, 4, Ct));
        Assert.Equal(new PartitionBounds(4, 10), await store.GetBoundsAsync("t", 0, Ct));

        var truncated = await Assert.ThrowsAsync<LogTruncatedException>(async () => await store.ReadAsync("t", 0, 2, 10, Ct));
        Assert.Equal(4, truncated.FirstRetained);
        Assert.Contains("offset 2", truncated.Message, StringComparison.Ordinal);

        var rest = await store.ReadAsync("t", 0, 4, 100, Ct);
        Assert.Equal([4L, 5, 6, 7, 8, 9], rest.Records.Select(r => r.Offset));
        Assert.Equal(["4", "5", "6", "7", "8", "9"], rest.Records.Select(Text));

        // Never backwards, and never past the high-water mark.
        Assert.Equal(4, await store.TruncateAsync("t", 0, 1, Ct));
        Assert.Equal(10, await store.TruncateAsync("t", 0, 1000, Ct));
        Assert.Equal(new PartitionBounds(10, 10), await store.GetBoundsAsync("t", 0, Ct));
        Assert.Equal(10, (await Assert.ThrowsAsync<LogTruncatedException>(async () => await store.ReadAsync("t", 0, 9, 10, Ct))).FirstRetained);
        Assert.Empty((await store.ReadAsync("t", 0, 10, 10, Ct)).Records);

        // Offsets are never reused.
        Assert.Equal(new AppendResult(10, 11), await store.AppendAsync("t", 0, [Json("10")], Ct));
        Assert.Equal(["10"], (await store.ReadAsync("t", 0, 10, 10, Ct)).Records.Select(Text));
    }

    [Fact]
    public async Task Find_offset_by_append_time()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero));
        var store = Open(time);
        await store.CreateTopicAsync("t", 1, Ct);
        var start = time.GetUtcNow();
        for (var minute = 0; minute < 10; minute++)
        {
            await store.AppendAsync("t", 0, [Json("1"), Json("2")], Ct); // offsets 2m, 2m+1 at minute m
            time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(0, await store.FindOffsetAsync("t", 0, start.AddHours(-1), Ct));
        Assert.Equal(0, await store.FindOffsetAsync("t", 0, start, Ct));
        Assert.Equal(2, await store.FindOffsetAsync("t", 0, start.AddSeconds(1), Ct));
        Assert.Equal(8, await store.FindOffsetAsync("t", 0, start.AddMinutes(4), Ct));
        Assert.Equal(18, await store.FindOffsetAsync("t", 0, start.AddMinutes(9), Ct));
        Assert.Equal(20, await store.FindOffsetAsync("t", 0, start.AddMinutes(9).AddSeconds(1), Ct));

        var read = await store.ReadAsync("t", 0, 8, 1, Ct);
        Assert.Equal(start.AddMinutes(4), read.Records[0].AppendedAt);

        // After truncation the search starts at the first retained offset.
        await store.TruncateAsync("t", 0, 11, Ct);
        Assert.Equal(11, await store.FindOffsetAsync("t", 0, start, Ct));
        Assert.Equal(12, await store.FindOffsetAsync("t", 0, start.AddMinutes(6), Ct));

        // A clock stepping back does not reorder the log: the append keeps the previous time.
        time.AdjustTime(start);
        await store.AppendAsync("t", 0, [Json("late")], Ct);
        Assert.Equal(start.AddMinutes(9), (await store.ReadAsync("t", 0, 20, 1, Ct)).Records[0].AppendedAt);
        Assert.Equal(18, await store.FindOffsetAsync("t", 0, start.AddMinutes(9), Ct));
    }

    [Fact]
    public async Task Wait_for_append_wakes_at_once_on_an_append_through_the_same_instance()
    {
        // A poll interval far above the timeout of the assertion: only the wake-up can complete the wait in time.
        var store = Open(pollInterval: TimeSpan.FromMinutes(5));
        await store.CreateTopicAsync("t", 1, Ct);
        await store.AppendAsync("t", 0, [Json("0")], Ct);

        Assert.True(await store.WaitForAppendAsync("t", 0, 0, TimeSpan.FromSeconds(1), Ct));
        var stopwatch = Stopwatch.StartNew();
        Assert.False(await store.WaitForAppendAsync("t", 0, 1, TimeSpan.FromMilliseconds(300), Ct));
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(250), $"gave up after {stopwatch.Elapsed}");

        var waiting = store.WaitForAppendAsync("t", 0, 1, TimeSpan.FromMinutes(2), Ct).AsTask();
        await Task.Delay(100, Ct);
        Assert.False(waiting.IsCompleted);
        stopwatch.Restart();
        await store.AppendAsync("t", 0, [Json("1")], Ct);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"woke after {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Wait_for_append_sees_another_instance_append_by_polling()
    {
        var writer = Open(pollInterval: TimeSpan.FromMinutes(5));
        var watcher = Open(pollInterval: TimeSpan.FromMilliseconds(100));
        await writer.CreateTopicAsync("t", 1, Ct);

        var waiting = watcher.WaitForAppendAsync("t", 0, 0, TimeSpan.FromMinutes(2), Ct).AsTask();
        await Task.Delay(150, Ct);
        Assert.False(waiting.IsCompleted);
        var stopwatch = Stopwatch.StartNew();
        await writer.AppendAsync("t", 0, [Json("x")], Ct);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(60), Ct));

        // Within the poll interval, give or take a loaded machine: far less than the 2 minute timeout.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"saw the append after {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Wait_for_any_append_wakes_on_any_of_its_partitions()
    {
        var store = Open(pollInterval: TimeSpan.FromMinutes(5));
        var watcher = Open(pollInterval: TimeSpan.FromMilliseconds(100));
        await store.CreateTopicAsync("a", 2, Ct);
        await store.CreateTopicAsync("b", 1, Ct);
        (string, int, long)[] positions = [("a", 0, 0), ("a", 1, 0), ("b", 0, 0)];

        Assert.False(await store.WaitForAnyAppendAsync(positions, TimeSpan.FromMilliseconds(200), Ct));
        Assert.False(await store.WaitForAnyAppendAsync([], TimeSpan.FromMilliseconds(10), Ct));

        // The same instance: woken at once (its poll interval is minutes).
        var same = store.WaitForAnyAppendAsync(positions, TimeSpan.FromMinutes(2), Ct).AsTask();
        await Task.Delay(100, Ct);
        Assert.False(same.IsCompleted);
        await store.AppendAsync("b", 0, [Json("1")], Ct);
        Assert.True(await same.WaitAsync(TimeSpan.FromSeconds(30), Ct));

        // Another instance: by polling.
        var other = watcher.WaitForAnyAppendAsync([("a", 0, 0), ("a", 1, 0), ("b", 0, 1)], TimeSpan.FromMinutes(2), Ct).AsTask();
        await Task.Delay(150, Ct);
        Assert.False(other.IsCompleted);
        await store.AppendAsync("a", 1, [Json("1")], Ct);
        Assert.True(await other.WaitAsync(TimeSpan.FromSeconds(30), Ct));

        // Already above: at once.
        Assert.True(await watcher.WaitForAnyAppendAsync([("a", 1, 0)], TimeSpan.FromMinutes(1), Ct));

        var missing = await Assert.ThrowsAsync<LogStoreException>(async () => await watcher.WaitForAnyAppendAsync([("nope", 0, 0)], TimeSpan.FromSeconds(1), Ct));
        Assert.Equal(ShardsErrorKind.NotFound, missing.Kind);
        Assert.Contains("'nope'", missing.Message, StringComparison.Ordinal);
        var partition = await Assert.ThrowsAsync<LogStoreException>(async () => await watcher.WaitForAnyAppendAsync([("a", 0, 5), ("a", 9, 0)], TimeSpan.FromSeconds(1), Ct));
        Assert.Equal(ShardsErrorKind.NotFound, partition.Kind);
    }

    [Fact]
    public async Task Appended_records_survive_reopening_the_store()
    {
        var store = Open();
        await store.CreateTopicAsync("durable", 2, Ct);
        await store.AppendAsync("durable", 1, [Json("{\"k\":1}"), Json("{\"k\":2}")], Ct);
        await store.TruncateAsync("durable", 1, 1, Ct);
        store.Dispose();

        var reopened = Open();
        Assert.Equal(2, (await reopened.GetTopicAsync("durable", Ct))!.Partitions);
        var read = await reopened.ReadAsync("durable", 1, 1, 10, Ct);
        Assert.Equal(["{\"k\":2}"], read.Records.Select(Text));
        Assert.Equal(new PartitionBounds(1, 2), read.Bounds);
        Assert.Equal(new AppendResult(2, 3), await reopened.AppendAsync("durable", 1, [Json("3")], Ct));
    }

    [Fact]
    public async Task Deleting_a_topic_removes_it_and_its_records()
    {
        var store = Open();
        await store.CreateTopicAsync("gone", 1, Ct);
        await store.AppendAsync("gone", 0, [Json("1"), Json("2")], Ct);
        await store.CreateTopicAsync("kept", 1, Ct);
        await store.AppendAsync("kept", 0, [Json("k")], Ct);

        Assert.True(await store.DeleteTopicAsync("gone", Ct));
        Assert.Null(await store.GetTopicAsync("gone", Ct));
        Assert.Equal(ShardsErrorKind.NotFound, (await Assert.ThrowsAsync<LogStoreException>(async () => await store.ReadAsync("gone", 0, 0, 10, Ct))).Kind);
        Assert.False(await store.DeleteTopicAsync("gone", Ct));

        // Created again, it starts empty at offset 0.
        await store.CreateTopicAsync("gone", 1, Ct);
        Assert.Empty((await store.ReadAsync("gone", 0, 0, 10, Ct)).Records);
        Assert.Equal(new AppendResult(0, 1), await store.AppendAsync("gone", 0, [Json("new")], Ct));
        Assert.Equal(["k"], (await store.ReadAsync("kept", 0, 0, 10, Ct)).Records.Select(Text));
    }
}
