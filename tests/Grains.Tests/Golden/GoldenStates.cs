using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Grains.Tests.Golden;

/// <summary>
/// The states stored by the grains of this version, built by driving the real task books (with a fake clock, so
/// every value is reproducible) and written through the serializer our grain storage providers use. The golden
/// files under this folder were written by <see cref="Write"/>; <see cref="GoldenStateTests"/> loads them.
/// </summary>
/// <remarks>
/// To regenerate (only when a stored shape changes on purpose, and never to make a failing compatibility test
/// pass): <c>SHARDS_WRITE_GOLDEN=1 dotnet test --project tests/Grains.Tests -- --filter-class "*GoldenStateTests*"</c>.
/// The files are then written into this source folder instead of compared.
/// </remarks>
internal static class GoldenStates
{
    /// <summary>The variable that makes the golden tests write the files instead of comparing them.</summary>
    public const string WriteVariable = "SHARDS_WRITE_GOLDEN";

    public static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The grain storage serializer of the silo (<see cref="ShardsServer.AddShardsStorage(ISiloBuilder, Action{ISiloBuilder, string})"/>).</summary>
    public static IGrainStorageSerializer StorageSerializer { get; } = new OrleansGrainStorageSerializer(
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    /// <summary>The HTTP API's JSON settings, under which a checkpoint is exported and imported.</summary>
    public static JsonSerializerOptions ApiJson { get; } = ApiJsonOptions();

    private static JsonSerializerOptions ApiJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        ShardsServer.ConfigureJson(options);
        return options;
    }

    public static readonly long[] StaticCounts = [100, 50];

    public static JobSpec StaticSpec { get; } = new JobSpec
    {
        Id = "golden-static",
        Source = new SourceSpec { Kind = "csv", Paths = ["part-*.csv"], Delimiter = ";" },
        ShardSize = 10,
        Epochs = 2,
        Shuffle = true,
        Seed = 7,
        LeaseTimeoutSeconds = 30,
        MaxAttempts = 2,
        Durability = "batched",
    }.Normalize();

    public static JobSpec LiveSpec { get; } = new JobSpec
    {
        Id = "golden-live",
        Source = new SourceSpec
        {
            Kind = "s3",
            Connection = "lake",
            Bucket = "datasets",
            Prefix = "events/",
            Transformer = "jsonl",
            Distribution = "pattern",
            PartitionPattern = "part-(\\d+)",
            Watch = true,
        },
        ShardSize = 10,
        LeaseTimeoutSeconds = 30,
        MaxAttempts = 2,
        MaxWaitMs = 250,
    }.Normalize();

    public static JobSpec SqlSpec { get; } = new JobSpec
    {
        Id = "golden-sql",
        Source = new SourceSpec { Kind = "sqlite", Path = "db/rows.db", Table = "main.rows", KeyColumn = "id" },
        ShardSize = 500,
    }.Normalize();

    public static SourceSpec RedisSource { get; } = new()
    {
        Kind = "redisstreams",
        Connection = "cache",
        Keys = ["stream-a", "stream-b"],
    };

    /// <summary>A static job mid-run: leases in flight, re-queued shards, retries, a dead letter, a second epoch's counters to come.</summary>
    public static JobState StaticJob()
    {
        var time = new FakeTimeProvider(Start);
        var state = new TaskBookState();
        var book = new TaskBook(state, StaticSpec.ToTaskBookSettings(), new ShardCatalog(StaticCounts, StaticSpec.ShardSize), time);
        var first = book.Lease("w1", 4, "req-1");
        book.Report(first[0].TaskId, first[0].LeaseId, "w1", done: true);
        book.Report(first[1].TaskId, first[1].LeaseId, "w1", done: true);
        book.Report(first[2].TaskId, first[2].LeaseId, "w1", done: false, "boom 1");
        book.Release("w1", [first[3].LeaseId]);
        time.Advance(TimeSpan.FromSeconds(5));
        var second = book.Lease("w2", 3, "req-2");
        book.Report(second[0].TaskId, second[0].LeaseId, "w2", done: false, "boom 2");
        time.Advance(TimeSpan.FromSeconds(31));
        book.ExpireDue();
        book.Lease("w3", 1, "req-3");
        return new JobState
        {
            Spec = StaticSpec,
            CreatedAt = Start,
            Paths = ["/data/part-0.csv", "/data/part-1.csv"],
            Files =
            [
                new PinnedFile("/data/part-0.csv", 100, 4_321, 638_000_000_000_000_000, 0x0123_4567_89ab_cdef),
                new PinnedFile("/data/part-1.csv", 50, 2_100, 638_000_000_000_000_001, 0xfedc_ba98_7654_3210),
            ],
            Book = state,
            Lifecycle = "paused",
        };
    }

    /// <summary>A live job: shards cut, leased, done ahead of the committed offset, re-queued and dead-lettered.</summary>
    public static JobState LiveJob()
    {
        var time = new FakeTimeProvider(Start);
        var state = new LiveBookState();
        var book = new LiveTaskBook(state, new LiveBookSettings(LiveSpec.ShardSize, LiveSpec.Ordered, TimeSpan.FromSeconds(LiveSpec.LeaseTimeoutSeconds), LiveSpec.MaxAttempts), time);
        book.EnsurePartitions(2);
        book.Offer(0, [new(0, 10), new(10, 20), new(20, 30), new(30, 40)], new PartitionBounds(0, 45));
        book.Offer(1, [new(0, 10), new(10, 15)], new PartitionBounds(0, 15));
        var first = book.Lease("w1", 3, "req-1");
        foreach (var lease in first)
        {
            // Done ahead of the committed offset on partition 0, failed once on partition 1.
            if (lease.Shard is { Partition: 0, Start: 10 })
            {
                book.Report(lease.TaskId, lease.LeaseId, "w1", done: true);
            }
            else if (lease.Shard.Partition == 1)
            {
                book.Report(lease.TaskId, lease.LeaseId, "w1", done: false, "bad line");
            }
        }

        foreach (var lease in book.Lease("w2", 2, "req-2").Where(l => l.Shard.Partition == 1))
        {
            book.Report(lease.TaskId, lease.LeaseId, "w2", done: false, "bad again");
        }

        time.Advance(TimeSpan.FromSeconds(31));
        book.ExpireDue();
        book.Lease("w3", 1, "req-3");
        return new JobState
        {
            Spec = LiveSpec,
            CreatedAt = Start,
            Paths = ["s3://datasets/events/part-0", "s3://datasets/events/part-1"],
            Files = [null, null],
            Lifecycle = "running",
            Live = state,
        };
    }

    /// <summary>A static job whose splitters have not described their partitions yet.</summary>
    public static JobState SqlJob() => new()
    {
        Spec = SqlSpec,
        CreatedAt = Start,
        Paths = ["/data/db/rows.db"],
        Files = [null],
        Lifecycle = "running",
    };

    public static SplitterState StaticSplitter() => new()
    {
        File = new PinnedFile("/data/part-1.csv", 50, 2_100, 638_000_000_000_000_001, 0xfedc_ba98_7654_3210),
        Acknowledged = true,
        Partition = 1,
    };

    public static SplitterState LiveSplitter() => new()
    {
        Partition = 1,
        SplitUpTo = 15,
        Live = new LiveSplitterAssignment
        {
            Assignment = new SplitterAssignment("golden-redis", 1, "stream-b", RedisSource),
            ShardSize = 10,
            MaxWaitMs = 250,
        },
    };

    /// <summary>The checkpoint the static job exports, with its files as users name them.</summary>
    public static CheckpointDocument StaticCheckpoint()
    {
        var job = StaticJob();
        var catalog = new ShardCatalog(StaticCounts, StaticSpec.ShardSize);
        CheckpointFile[] files =
        [
            .. job.Files.Select((f, p) => new CheckpointFile
            {
                Partition = p,
                Path = $"part-{p}.csv",
                Records = f!.RecordCount,
                Length = f.Length,
                LastWriteTimeUtcTicks = f.LastWriteTimeUtcTicks,
                ContentHash = Checkpoints.FormatHash(f.ContentHash),
            }),
        ];
        CheckpointSplitter[] splitters = [.. files.Select(f => new CheckpointSplitter { Partition = f.Partition, Path = f.Path, SplitUpTo = f.Records, Acknowledged = true })];
        return Checkpoints.Export("golden-static", job.Spec!, job.CreatedAt, job.Lifecycle, files, splitters, job.Book, catalog, Start.AddMinutes(1));
    }

    /// <summary>The checkpoint the live job exports.</summary>
    public static CheckpointDocument LiveCheckpoint()
    {
        var job = LiveJob();
        return LiveCheckpoints.Export("golden-live", job.Spec!, job.CreatedAt, job.Lifecycle, ["events/part-0", "events/part-1"], job.Live!, Start.AddMinutes(1));
    }

    /// <summary>Every golden file: its name and its bytes as this version writes them.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> All() =>
    [
        ("job-static.bin", StorageSerializer.Serialize(StaticJob()).ToArray()),
        ("job-live.bin", StorageSerializer.Serialize(LiveJob()).ToArray()),
        ("job-sql.bin", StorageSerializer.Serialize(SqlJob()).ToArray()),
        ("splitter-static.bin", StorageSerializer.Serialize(StaticSplitter()).ToArray()),
        ("splitter-live.bin", StorageSerializer.Serialize(LiveSplitter()).ToArray()),
        ("checkpoint-static.json", JsonSerializer.SerializeToUtf8Bytes(StaticCheckpoint(), ApiJson)),
        ("checkpoint-live.json", JsonSerializer.SerializeToUtf8Bytes(LiveCheckpoint(), ApiJson)),
    ];
}
