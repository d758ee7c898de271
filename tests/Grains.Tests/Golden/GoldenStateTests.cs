using System.Runtime.CompilerServices;
using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests.Golden;

/// <summary>
/// State written by this version must load in every later one: each golden file (see <see cref="GoldenStates"/>)
/// is loaded with the current code, through the grain storage serializer or the checkpoint import path, and
/// checked field by field against the values it was written with.
/// </summary>
public sealed class GoldenStateTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Golden");

    private static byte[] Golden(string name)
    {
        if (Environment.GetEnvironmentVariable(GoldenStates.WriteVariable) == "1")
        {
            var source = SourceFolder();
            var dump = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true };
            foreach (var (file, bytes) in GoldenStates.All())
            {
                File.WriteAllBytes(Path.Combine(source, file), bytes);
            }

            // A readable dump of what was written, to check the assertions against (not checked in).
            File.WriteAllText(Path.Combine(Path.GetTempPath(), "shards-golden-dump.json"), JsonSerializer.Serialize(new object[]
            {
                GoldenStates.StaticJob(), GoldenStates.LiveJob(), GoldenStates.SqlJob(), GoldenStates.StaticSplitter(), GoldenStates.LiveSplitter(),
            }, dump));
            return File.ReadAllBytes(Path.Combine(source, name));
        }

        var path = Path.Combine(Folder, name);
        Assert.True(File.Exists(path), $"{path} is missing: the golden files are copied to the output by Grains.Tests.csproj");
        return File.ReadAllBytes(path);
    }

    private static string SourceFolder([CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;

    private static T Load<T>(string name) => GoldenStates.StorageSerializer.Deserialize<T>(new BinaryData(Golden(name)))!;

    private static CheckpointDocument LoadCheckpoint(string name)
    {
        // As POST /v1/jobs/import reads it: header first, then the document under the API's JSON settings (unknown fields refused).
        using var parsed = JsonDocument.Parse(Golden(name));
        Checkpoints.CheckHeader(parsed.RootElement.GetProperty("format").GetString(), parsed.RootElement.GetProperty("version").GetInt32());
        return parsed.RootElement.Deserialize<CheckpointDocument>(GoldenStates.ApiJson)!;
    }

    private static DateTimeOffset At(int minute, int second) => new(2026, 12, 7, 12, minute, second, TimeSpan.Zero);

    private static void AssertPinned(PinnedFile? file, string path, long records, long length, long ticks, ulong hash)
    {
        Assert.NotNull(file);
        Assert.Equal((path, records, length, ticks, hash), (file.Path, file.RecordCount, file.Length, file.LastWriteTimeUtcTicks, file.ContentHash));
    }

    private static void AssertRetry(RetryRecord retry, int epoch, long shard, int failed, int leases, string? lastError, string? completedBy = null) =>
        Assert.Equal((epoch, shard, failed, leases, lastError, completedBy), (retry.Epoch, retry.Shard, retry.FailedAttempts, retry.Leases, retry.LastError, retry.CompletedBy));

    [Fact]
    public void A_static_job_with_leases_in_flight_requeued_shards_retries_and_a_dead_letter_loads()
    {
        var state = Load<JobState>("job-static.bin");

        var spec = state.Spec!;
        Assert.Equal(("golden-static", 10L, 2, true, 7L), (spec.Id, spec.ShardSize, spec.Epochs, spec.Shuffle, spec.Seed));
        Assert.Equal((30, 2, "batched", (int?)1000, (int?)null, false), (spec.LeaseTimeoutSeconds, spec.MaxAttempts, spec.Durability, spec.FlushIntervalMs, spec.MaxWaitMs, spec.Ordered));
        var source = spec.Source!;
        Assert.Equal(("csv", (bool?)true, ";"), (source.Kind, source.Header, source.Delimiter));
        Assert.Equal(["part-*.csv"], source.Paths!);
        Assert.False(spec.IsLive);

        Assert.Equal(At(0, 0), state.CreatedAt);
        Assert.Equal("paused", state.Lifecycle);
        Assert.Equal(["/data/part-0.csv", "/data/part-1.csv"], state.Paths);
        Assert.Equal(2, state.Files.Count);
        AssertPinned(state.Files[0], "/data/part-0.csv", 100, 4_321, 638_000_000_000_000_000, 0x0123_4567_89ab_cdef);
        AssertPinned(state.Files[1], "/data/part-1.csv", 50, 2_100, 638_000_000_000_000_001, 0xfedc_ba98_7654_3210);
        Assert.Null(state.Live);

        var book = state.Book;
        Assert.Equal((0, 5L, 8L, false, 20L, 2L), (book.Epoch, book.Cursor, book.NextLeaseSequence, book.Completed, book.TotalRecordsDelivered, book.TotalShardsDone));
        var lease = Assert.Single(book.InFlight);
        Assert.Equal("L7", lease.Key);
        Assert.Equal(("L7", 11L, 0, 2, "w3", At(1, 6), "req-3"), (lease.Value.LeaseId, lease.Value.Shard, lease.Value.Epoch, lease.Value.Attempt, lease.Value.WorkerId, lease.Value.ExpiresAt, lease.Value.RequestId));
        Assert.Equal([3L], book.Requeued);
        Assert.Equal(["0:11", "0:3", "0:4"], book.Retries.Keys.Order(StringComparer.Ordinal));
        AssertRetry(book.Retries["0:4"], 0, 4, 2, 2, "boom 2");
        AssertRetry(book.Retries["0:3"], 0, 3, 1, 2, "lease 'L5' of worker 'w2' expired at 2026-12-07T12:00:35.0000000+00:00");
        AssertRetry(book.Retries["0:11"], 0, 11, 1, 2, "lease 'L6' of worker 'w2' expired at 2026-12-07T12:00:35.0000000+00:00");
        var dead = Assert.Single(book.DeadLetters);
        Assert.Equal((0, 4L, new ShardRange(0, 40, 50), 2, "boom 2"), (dead.Epoch, dead.Shard, dead.Range, dead.Attempts, dead.LastError));
        var epoch = Assert.Single(book.Epochs);
        Assert.Equal((0, 2L, 20L, 2L, 2L), (epoch.Epoch, epoch.ShardsDone, epoch.RecordsDelivered, epoch.Expired, epoch.Failed));
    }

    [Fact]
    public void A_live_job_with_fresh_requeued_done_ahead_and_dead_lettered_shards_loads()
    {
        var state = Load<JobState>("job-live.bin");

        var spec = state.Spec!;
        Assert.Equal(("golden-live", 10L, 1, false, 0L), (spec.Id, spec.ShardSize, spec.Epochs, spec.Shuffle, spec.Seed));
        Assert.Equal((30, 2, "strict", (int?)null, (int?)250, false), (spec.LeaseTimeoutSeconds, spec.MaxAttempts, spec.Durability, spec.FlushIntervalMs, spec.MaxWaitMs, spec.Ordered));
        var source = spec.Source!;
        Assert.Equal(("s3", "lake", "datasets", "events/", "jsonl"), (source.Kind, source.Connection, source.Bucket, source.Prefix, source.Transformer));
        Assert.Equal(("pattern", "part-(\\d+)", (bool?)true, (int?)null), (source.Distribution, source.PartitionPattern, source.Watch, source.Partitions));
        Assert.Null(source.Paths);
        Assert.True(spec.IsLive);

        Assert.Equal((At(0, 0), "running"), (state.CreatedAt, state.Lifecycle));
        Assert.Equal(["s3://datasets/events/part-0", "s3://datasets/events/part-1"], state.Paths);
        Assert.Equal([null, null], state.Files);

        var live = state.Live!;
        Assert.Equal(2, live.Partitions.Count);
        var p0 = live.Partitions[0];
        Assert.Equal((0L, 40L, 45L, 0L), (p0.Committed, p0.SplitUpTo, p0.HighWatermark, p0.FirstRetained));
        Assert.Equal([new OffsetRange(30, 40)], p0.Fresh);
        Assert.Equal([new OffsetRange(0, 10), new OffsetRange(20, 30)], p0.Requeued);
        Assert.Equal([new OffsetRange(10, 20)], p0.DoneAhead);
        var p1 = live.Partitions[1];
        Assert.Equal((10L, 15L, 15L, 0L), (p1.Committed, p1.SplitUpTo, p1.HighWatermark, p1.FirstRetained));
        Assert.Empty(p1.Fresh);
        Assert.Empty(p1.Requeued);
        Assert.Empty(p1.DoneAhead);

        Assert.Equal((6L, 6L, 1L, 10L, 2L, 2L, 0), (live.NextLeaseSequence, live.ShardsCut, live.ShardsDone, live.RecordsDelivered, live.Expired, live.Failed, live.NextPartition));
        var lease = Assert.Single(live.InFlight);
        Assert.Equal(("L5", "L5", new ShardRange(1, 10, 15), 1, "w3", At(1, 1), "req-3"), (lease.Key, lease.Value.LeaseId, lease.Value.Shard, lease.Value.Attempt, lease.Value.WorkerId, lease.Value.ExpiresAt, lease.Value.RequestId));
        var dead = Assert.Single(live.DeadLetters);
        Assert.Equal((0, 0L, new ShardRange(1, 0, 10), 2, "bad again"), (dead.Epoch, dead.Shard, dead.Range, dead.Attempts, dead.LastError));
        Assert.Equal(["0:0", "0:20"], live.Retries.Keys.Order(StringComparer.Ordinal));
        AssertRetry(live.Retries["0:0"], 0, 0, 1, 1, "lease 'L0' of worker 'w1' expired at 2026-12-07T12:00:30.0000000+00:00");
        AssertRetry(live.Retries["0:20"], 0, 20, 1, 1, "lease 'L4' of worker 'w2' expired at 2026-12-07T12:00:30.0000000+00:00");
        Assert.Empty(live.RecentCompletions);
    }

    [Fact]
    public void A_sql_job_whose_partitions_are_not_described_yet_loads()
    {
        var state = Load<JobState>("job-sql.bin");

        var spec = state.Spec!;
        Assert.Equal(("golden-sql", 500L, 1, 60, 3, "strict"), (spec.Id, spec.ShardSize, spec.Epochs, spec.LeaseTimeoutSeconds, spec.MaxAttempts, spec.Durability));
        var source = spec.Source!;
        Assert.Equal(("sqlite", "db/rows.db", "main.rows", "id"), (source.Kind, source.Path, source.Table, source.KeyColumn));
        Assert.Equal(((bool?)null, (string?)null, (string?)null), (source.Header, source.Delimiter, source.Connection));
        Assert.Equal((At(0, 0), "running"), (state.CreatedAt, state.Lifecycle));
        Assert.Equal(["/data/db/rows.db"], state.Paths);
        Assert.Equal([null], state.Files);
        Assert.Equal((0, 0L, 0L, false), (state.Book.Epoch, state.Book.Cursor, state.Book.NextLeaseSequence, state.Book.Completed));
        Assert.Empty(state.Book.InFlight);
        Assert.Single(state.Book.Epochs);
        Assert.Null(state.Live);
    }

    [Fact]
    public void A_static_splitter_loads()
    {
        var state = Load<SplitterState>("splitter-static.bin");

        AssertPinned(state.File, "/data/part-1.csv", 50, 2_100, 638_000_000_000_000_001, 0xfedc_ba98_7654_3210);
        Assert.Equal((true, 1, 0L), (state.Acknowledged, state.Partition, state.SplitUpTo));
        Assert.Null(state.Live);
    }

    [Fact]
    public void A_live_splitter_loads_with_what_it_watches()
    {
        var state = Load<SplitterState>("splitter-live.bin");

        Assert.Null(state.File);
        Assert.Equal((false, 1, 15L), (state.Acknowledged, state.Partition, state.SplitUpTo));
        var live = state.Live!;
        Assert.Equal((10L, 250), (live.ShardSize, live.MaxWaitMs));
        Assert.Equal(("golden-redis", 1, "stream-b"), (live.Assignment.JobId, live.Assignment.Partition, live.Assignment.Path));
        var source = live.Assignment.Source;
        Assert.Equal(("redisstreams", "cache"), (source.Kind, source.Connection));
        Assert.Equal(["stream-a", "stream-b"], source.Keys!);
        Assert.Null(source.Paths);
    }

    [Fact]
    public void A_static_checkpoint_document_imports()
    {
        var document = LoadCheckpoint("checkpoint-static.json");

        Assert.Equal(("orleans-shards-checkpoint", (int?)1, "golden-static", "paused"), (document.Format, document.Version, document.JobId, document.Lifecycle));
        Assert.Equal((At(1, 0), At(0, 0)), (document.ExportedAt, document.CreatedAt));
        var spec = document.Spec!;
        Assert.Equal((10L, 2, true, 7L, 30, 2, "batched", (int?)1000, (int?)null, false), (spec.ShardSize, spec.Epochs, spec.Shuffle, spec.Seed, spec.LeaseTimeoutSeconds, spec.MaxAttempts, spec.Durability, spec.FlushIntervalMs, spec.MaxWaitMs, spec.Ordered));
        Assert.Equal(("csv", (bool?)true, ";"), (spec.Source!.Kind, spec.Source.Header, spec.Source.Delimiter));
        Assert.Equal(["part-*.csv"], spec.Source.Paths!);
        Assert.Equal(2, document.Files!.Count);
        Assert.Equal((0, "part-0.csv", 100L, 4_321L, 638_000_000_000_000_000L, "0123456789abcdef"), (document.Files[0].Partition, document.Files[0].Path, document.Files[0].Records, document.Files[0].Length, document.Files[0].LastWriteTimeUtcTicks, document.Files[0].ContentHash));
        Assert.Equal((1, "part-1.csv", 50L, 2_100L, 638_000_000_000_000_001L, "fedcba9876543210"), (document.Files[1].Partition, document.Files[1].Path, document.Files[1].Records, document.Files[1].Length, document.Files[1].LastWriteTimeUtcTicks, document.Files[1].ContentHash));
        Assert.Equal((15L, 0, false, 8L), (document.Shards, document.Epoch, document.Completed, document.NextLeaseSequence));
        Assert.Equal(5, document.Todo!.Cursor);
        Assert.Equal(["e0.p0.30-40"], document.Todo.Requeued!);
        var doing = Assert.Single(document.Doing!);
        Assert.Equal(("e0.p1.10-20", "L7", "w3", 2, At(1, 6)), (doing.TaskId, doing.LeaseId, doing.WorkerId, doing.Attempt, doing.ExpiresAt));
        Assert.Equal((2L, 2L, 20L), (document.Done!.Shards, document.Done.TotalShards, document.Done.TotalRecords));
        var epoch = Assert.Single(document.Done.Epochs!);
        Assert.Equal((0, 2L, 20L, 2L, 2L), (epoch.Epoch, epoch.ShardsDone, epoch.RecordsDelivered, epoch.LeasesExpired, epoch.AttemptsFailed));
        Assert.Equal(["e0.p0.30-40", "e0.p0.40-50", "e0.p1.10-20"], document.Retries!.Select(r => r.TaskId));
        Assert.Equal([(1, 2), (2, 2), (1, 2)], document.Retries!.Select(r => (r.FailedAttempts, r.Leases)));
        Assert.Equal("boom 2", document.Retries![1].LastError);
        var dead = Assert.Single(document.DeadLetters!);
        Assert.Equal(("e0.p0.40-50", 2, "boom 2"), (dead.TaskId, dead.Attempts, dead.LastError));
        Assert.Equal([(0, "part-0.csv", 100L, true), (1, "part-1.csv", 50L, true)], document.Splitters!.Select(s => (s.Partition, s.Path, s.SplitUpTo, s.Acknowledged)));
        Assert.Null(document.Live);

        // And the job continues from it: the lease in flight goes back to the queue, after the shard already there.
        var restored = Checkpoints.Restore(document);
        Assert.Equal(15, restored.Catalog.ShardCount);
        Assert.Equal((0, 5L, 8L), (restored.Book.Epoch, restored.Book.Cursor, restored.Book.NextLeaseSequence));
        Assert.Equal([3L, 11L], restored.Book.Requeued);
        Assert.Empty(restored.Book.InFlight);
        Assert.Equal([11L], restored.RequeuedFromDoing);
        Assert.Equal(("csv", true, ";"), (restored.Spec.Source!.Kind, restored.Spec.Source.Header, restored.Spec.Source.Delimiter));
    }

    [Fact]
    public void A_live_checkpoint_document_imports()
    {
        var document = LoadCheckpoint("checkpoint-live.json");

        Assert.Equal(("orleans-shards-checkpoint", (int?)1, "golden-live", "running"), (document.Format, document.Version, document.JobId, document.Lifecycle));
        var spec = document.Spec!;
        Assert.Equal((10L, 1, false, 30, 2, "strict", (int?)250, false), (spec.ShardSize, spec.Epochs, spec.Shuffle, spec.LeaseTimeoutSeconds, spec.MaxAttempts, spec.Durability, spec.MaxWaitMs, spec.Ordered));
        var source = spec.Source!;
        Assert.Equal(("s3", "lake", "datasets", "events/", "jsonl", "pattern", "part-(\\d+)", (bool?)true), (source.Kind, source.Connection, source.Bucket, source.Prefix, source.Transformer, source.Distribution, source.PartitionPattern, source.Watch));
        Assert.Equal((6L, 6L), (document.Shards, document.NextLeaseSequence));
        var doing = Assert.Single(document.Doing!);
        Assert.Equal(("e0.p1.10-15", "L5", "w3", 1, At(1, 1)), (doing.TaskId, doing.LeaseId, doing.WorkerId, doing.Attempt, doing.ExpiresAt));
        Assert.Equal(["e0.p0.0-10", "e0.p0.20-30"], document.Retries!.Select(r => r.TaskId));
        Assert.Equal(("e0.p1.0-10", 2, "bad again"), (document.DeadLetters![0].TaskId, document.DeadLetters[0].Attempts, document.DeadLetters[0].LastError));
        Assert.Equal(2, document.Live!.Count);
        var p0 = document.Live[0];
        Assert.Equal((0, "events/part-0", 0L, 40L), (p0.Partition, p0.Path, p0.Committed, p0.SplitUpTo));
        Assert.Equal([(30L, 40L)], p0.Fresh!.Select(r => (r.Start, r.End)));
        Assert.Equal([(0L, 10L), (20L, 30L)], p0.Requeued!.Select(r => (r.Start, r.End)));
        Assert.Equal([(10L, 20L)], p0.DoneAhead!.Select(r => (r.Start, r.End)));
        Assert.Equal((1, "events/part-1", 10L, 15L), (document.Live[1].Partition, document.Live[1].Path, document.Live[1].Committed, document.Live[1].SplitUpTo));

        var (restoredSpec, book) = LiveCheckpoints.Restore(document);
        Assert.True(restoredSpec.IsLive);
        Assert.Equal(2, book.Partitions.Count);
        Assert.Empty(book.InFlight);
        Assert.Equal([new OffsetRange(10, 15)], book.Partitions[1].Requeued);
        Assert.Equal([new OffsetRange(10, 20)], book.Partitions[0].DoneAhead);
    }
}
