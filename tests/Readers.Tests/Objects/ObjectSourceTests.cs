using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.Readers.Objects;
using OrleansShards.Readers.TfRecord;

namespace OrleansShards.Readers.Tests.Objects;

/// <summary>Object sources against real servers: s3rver for s3, Azurite for azureblob.</summary>
public sealed class ObjectSourceTests(ObjectServers servers) : IDisposable
{
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "shards-object-cache-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_cache, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private ObjectSourceAdapter Adapter(TimeSpan? recheck = null, string? cache = null) => new(servers.Connections(), new ObjectSourceOptions
    {
        CacheDirectory = cache ?? _cache,
        RecheckInterval = recheck ?? TimeSpan.FromMinutes(5),
        IndexStride = 4,
    });

    private static SourceSpec Spec(string kind, string container, string transformer, string? prefix = null, string? distribution = null, int? partitions = null, string? pattern = null) => new()
    {
        Kind = kind,
        Connection = "store-" + kind,
        Bucket = kind == "s3" ? container : null,
        Container = kind == "azureblob" ? container : null,
        Prefix = prefix,
        Transformer = transformer,
        Distribution = distribution,
        Partitions = partitions,
        PartitionPattern = pattern,
    };

    /// <summary>CSV of ids <c>[first, first + count)</c>; every third row has a quoted field with a comma, quotes and a line break.</summary>
    private static string Csv(int first, int count)
    {
        var text = new StringBuilder("id,text,value\n");
        for (var id = first; id < first + count; id++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{id},").Append(id % 3 == 0 ? "\"a, \"\"q\"\"\nline\"" : $"plain {id}").Append(CultureInfo.InvariantCulture, $",{id * 2}\n");
        }

        return text.ToString();
    }

    private static string JsonLines(int first, int count) =>
        string.Concat(Enumerable.Range(first, count).Select(id => $"{{\"id\":{id},\"name\":\"n{id}\"}}\n"));

    private static async Task<List<string>> ReadJson(IPartitionReader reader, PartitionDescription description, long start, long end, IReadOnlyList<string>? columns = null, int? limit = null)
    {
        using var batch = await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, start, end, columns, limit));
        var rows = new List<string>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                batch.WriteRecord(writer, i);
            }

            rows.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        return rows;
    }

    private static long IdOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("id") is var id && id.ValueKind == JsonValueKind.String
        ? long.Parse(id.GetString()!, CultureInfo.InvariantCulture)
        : id.GetInt64();

    /// <summary>Every [start, end) of the partition reads as the same slice of the full scan.</summary>
    private static async Task AssertEverySplitMatches(IPartitionReader reader, PartitionDescription description, List<string> full)
    {
        for (var start = 0; start <= full.Count; start++)
        {
            for (var end = start; end <= full.Count; end++)
            {
                Assert.Equal(full.GetRange(start, end - start), await ReadJson(reader, description, start, end));
            }
        }
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Csv_objects_hashed_into_partitions_deliver_every_record_once_and_every_split_equals_the_full_scan(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        int[] sizes = [7, 1, 12, 0, 9, 5];
        var first = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            await servers.PutAsync(kind, container, $"csv/part-{i}.csv", Csv(first, sizes[i]));
            first += sizes[i];
        }

        await servers.PutAsync(kind, container, "other/ignored.csv", Csv(1000, 3));
        using var adapter = Adapter();
        var spec = Spec(kind, container, "csv", prefix: "csv/", partitions: 2);
        var locators = await adapter.ResolvePartitionsAsync(spec, TestContext.Current.CancellationToken);
        Assert.Equal(2, locators.Count);
        Assert.Equal(locators, await adapter.ResolvePartitionsAsync(spec, TestContext.Current.CancellationToken));

        var reader = adapter.ObjectReaderFor(spec);
        var ids = new List<long>();
        foreach (var locator in locators)
        {
            var description = await reader.DescribeAsync(locator, TestContext.Current.CancellationToken);
            Assert.Equal(["id", "text", "value"], description.Columns);
            var full = await ReadJson(reader, description, 0, description.RecordCount);
            Assert.Equal(description.RecordCount, full.Count);
            ids.AddRange(full.Select(IdOf));
            await AssertEverySplitMatches(reader, description, full);

            // The partition is its objects in key order, and its offset entries say where each object's records lie.
            var layout = await reader.DescribeObjectsAsync(locator, TestContext.Current.CancellationToken);
            Assert.Equal(layout.Entries.Select(e => e.Key).Order(StringComparer.Ordinal), layout.Entries.Select(e => e.Key));
            foreach (var entry in layout.Entries)
            {
                var part = int.Parse(entry.Key["csv/part-".Length..^".csv".Length], CultureInfo.InvariantCulture);
                Assert.Equal(sizes[part], entry.Records);
                if (entry.Records > 0)
                {
                    Assert.Equal(sizes.Take(part).Sum(), IdOf(full[(int)entry.FirstRecord]));
                }
            }

            var middle = description.RecordCount / 2;
            var progress = layout.ProgressAt(middle);
            Assert.Equal(middle, progress.Sum(p => p.RecordsRead));
            Assert.All(progress.Where(p => p.Complete), p => Assert.Equal(layout.Entries.Single(e => e.Key == p.Key).Records, p.RecordsRead));
        }

        Assert.Equal(Enumerable.Range(0, sizes.Sum()).Select(i => (long)i), ids.Order());

        // Quoted fields with line breaks, projection and limit.
        var all = await reader.DescribeAsync(locators[0], TestContext.Current.CancellationToken);
        using var batch = await reader.ReadAsync(new ShardReadRequest(all.Path, all.Fingerprint, 0, all.RecordCount, ["text", "id"], Limit: 4), TestContext.Current.CancellationToken);
        Assert.Equal(Math.Min(4, all.RecordCount), batch.Count);
        Assert.Equal(["text", "id"], batch.ColumnNames);
        for (var i = 0; i < batch.Count; i++)
        {
            var id = long.Parse(batch.GetText(i, "id")!, CultureInfo.InvariantCulture);
            Assert.Equal(id % 3 == 0 ? "a, \"q\"\nline" : $"plain {id}", batch.GetText(i, "text"));
        }
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Jsonl_objects_go_to_the_partition_their_key_names_and_every_split_equals_the_full_scan(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        await servers.PutAsync(kind, container, "logs/day-2/a.jsonl", JsonLines(100, 3));
        await servers.PutAsync(kind, container, "logs/day-0/b.jsonl", JsonLines(4, 2));
        await servers.PutAsync(kind, container, "logs/day-0/a.jsonl", JsonLines(0, 4));
        await servers.PutAsync(kind, container, "logs/day-3/x.jsonl", "\n" + JsonLines(200, 1) + "\n");
        using var adapter = Adapter();
        var spec = Spec(kind, container, "jsonl", prefix: "logs/", distribution: "pattern", pattern: @"day-(\d+)/");
        var locators = await adapter.ResolvePartitionsAsync(spec, TestContext.Current.CancellationToken);
        Assert.Equal(4, locators.Count);
        var reader = adapter.ReaderFor(spec);
        long[][] expected = [[0, 1, 2, 3, 4, 5], [], [100, 101, 102], [200]];
        for (var p = 0; p < 4; p++)
        {
            var description = await reader.DescribeAsync(locators[p], TestContext.Current.CancellationToken);
            var full = await ReadJson(reader, description, 0, description.RecordCount);
            Assert.Equal(expected[p], full.Select(IdOf));
            await AssertEverySplitMatches(reader, description, full);
            Assert.Contains($"partition {p}", adapter.Display(locators[p]), StringComparison.Ordinal);
        }

        Assert.Equal(["{\"name\":\"n0\",\"id\":0}"], await ReadJson(reader, await reader.DescribeAsync(locators[0], TestContext.Current.CancellationToken), 0, 1, ["name", "id"]));
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Keys_the_pattern_does_not_match_are_refused_naming_them(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        await servers.PutAsync(kind, container, "logs/day-1/a.jsonl", JsonLines(0, 1));
        await servers.PutAsync(kind, container, "logs/README", "not data");
        using var adapter = Adapter();
        var e = await Assert.ThrowsAsync<SourceSpecException>(async () =>
            await adapter.ResolvePartitionsAsync(Spec(kind, container, "jsonl", prefix: "logs/", distribution: "pattern", pattern: @"day-(\d+)/"), TestContext.Current.CancellationToken));
        Assert.Equal("source.partitionPattern", e.Field);
        Assert.Contains("'logs/README'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task The_raw_transformer_makes_one_record_per_object_with_its_key_and_bytes(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        var objects = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["blobs/a.bin"] = [0, 1, 2, 255, 254, 10, 13],
            ["blobs/b c.bin"] = [],
            ["blobs/z/ü.bin"] = Encoding.UTF8.GetBytes(new string('x', 70_000)),
        };
        foreach (var (key, bytes) in objects)
        {
            await servers.PutAsync(kind, container, key, bytes);
        }

        using var adapter = Adapter();

        // One partition per object by default.
        var single = await adapter.ResolvePartitionsAsync(Spec(kind, container, "raw", prefix: "blobs/"), TestContext.Current.CancellationToken);
        Assert.Equal(3, single.Count);

        var spec = Spec(kind, container, "raw", prefix: "blobs/", partitions: 1);
        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(spec, TestContext.Current.CancellationToken));
        var reader = adapter.ReaderFor(spec);
        var description = await reader.DescribeAsync(locator, TestContext.Current.CancellationToken);
        Assert.Equal(3, description.RecordCount);
        Assert.Equal(["key", "bytes"], description.Columns);
        var full = await ReadJson(reader, description, 0, 3);
        Assert.Equal(objects.Select(o => JsonSerializer.Serialize(new { key = o.Key, bytes = o.Value })), full);
        await AssertEverySplitMatches(reader, description, full);
        using var keys = await reader.ReadAsync(new ShardReadRequest(locator, description.Fingerprint, 1, 3, ["key"]), TestContext.Current.CancellationToken);
        Assert.Equal("blobs/b c.bin", keys.GetText(0, "key"));
        Assert.Equal("blobs/z/ü.bin", keys.GetText(1, "key"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await reader.ReadAsync(new ShardReadRequest(locator, description.Fingerprint, 0, 1, ["nope"]), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("s3", "csv")]
    [InlineData("azureblob", "csv")]
    [InlineData("s3", "raw")]
    [InlineData("azureblob", "raw")]
    public async Task An_object_re_uploaded_after_describe_fails_reads_naming_its_bucket_and_key(string kind, string transformer)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        await servers.PutAsync(kind, container, "data/one.csv", Csv(0, 5));
        await servers.PutAsync(kind, container, "data/two.csv", Csv(5, 5));
        using var adapter = Adapter(recheck: TimeSpan.Zero);
        var spec = Spec(kind, container, transformer, prefix: "data/", partitions: 1);
        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(spec, TestContext.Current.CancellationToken));
        var reader = adapter.ReaderFor(spec);
        var description = await reader.DescribeAsync(locator, TestContext.Current.CancellationToken);
        Assert.NotEmpty(await ReadJson(reader, description, 0, description.RecordCount));

        await servers.PutAsync(kind, container, "data/two.csv", Csv(5, 6));
        var e = await Assert.ThrowsAsync<SourceChangedException>(async () => await ReadJson(reader, description, 0, description.RecordCount));
        Assert.Contains(container, e.Message, StringComparison.Ordinal);
        Assert.Contains("data/two.csv", e.Message, StringComparison.Ordinal);

        // A reader with an empty cache (another silo) refuses to take the new version for the pinned one: csv describes
        // by downloading (If-Match), raw describes from the locator alone and fails the read.
        using var other = Adapter(cache: _cache + "-other");
        var fresh = transformer == "raw"
            ? await Assert.ThrowsAsync<SourceChangedException>(async () => await ReadJson(other.ReaderFor(spec), description, 1, 2))
            : await Assert.ThrowsAsync<SourceChangedException>(async () => await other.ReaderFor(spec).DescribeAsync(locator, TestContext.Current.CancellationToken));
        Assert.Contains("data/two.csv", fresh.Message, StringComparison.Ordinal);

        // The other object is still readable.
        Assert.NotEmpty(await ReadJson(reader, description, 0, transformer == "raw" ? 1 : 5));
        try
        {
            Directory.Delete(_cache + "-other", recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData("s3", "jsonl", "{\"id\":1}\n{\"id\":2,\n{\"id\":3}\n")]
    [InlineData("azureblob", "jsonl", "{\"id\":1}\n{\"id\":2,\n{\"id\":3}\n")]
    [InlineData("s3", "csv", "id,text\n1,a\n2,\"never closed\n")]
    [InlineData("azureblob", "csv", "id,text\n1,a\n2,b,extra\n")]
    public async Task A_malformed_object_fails_the_read_naming_bucket_and_key(string kind, string transformer, string content)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        await servers.PutAsync(kind, container, "in/good", transformer == "csv" ? "id,text\n0,fine\n" : "{\"id\":0}\n");
        await servers.PutAsync(kind, container, "in/bad", content);
        using var adapter = Adapter();
        var spec = Spec(kind, container, transformer, prefix: "in/", partitions: 1);
        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(spec, TestContext.Current.CancellationToken));
        var reader = adapter.ReaderFor(spec);
        var description = await reader.DescribeAsync(locator, TestContext.Current.CancellationToken);
        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await ReadJson(reader, description, 0, description.RecordCount));
        Assert.Contains($"{kind}://{container}/in/bad", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_cache, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Tfrecord_objects_are_read_as_examples(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        for (var o = 0; o < 2; o++)
        {
            using var buffer = new MemoryStream();
            var writer = new TfRecordWriter(buffer);
            for (var id = o * 10; id < o * 10 + 10; id++)
            {
                writer.Write(TfRecordTestFiles.Example([("id", new TfValue.Int64s([id]))]));
            }

            await servers.PutAsync(kind, container, $"tf/{o}.tfrecord", buffer.ToArray());
        }

        using var adapter = Adapter();
        var spec = Spec(kind, container, "tfrecord", prefix: "tf/", partitions: 1);
        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(spec, TestContext.Current.CancellationToken));
        var reader = adapter.ReaderFor(spec);
        var description = await reader.DescribeAsync(locator, TestContext.Current.CancellationToken);
        var full = await ReadJson(reader, description, 0, description.RecordCount);
        Assert.True(full.All(r => r.Contains("\"id\"", StringComparison.Ordinal)), full[0]);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), full.Select(IdOf));
        await AssertEverySplitMatches(reader, description, full);
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Bad_specs_are_refused_naming_the_field(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        await servers.PutAsync(kind, container, "a.csv", Csv(0, 1));
        using var adapter = Adapter();
        var ct = TestContext.Current.CancellationToken;

        var empty = await Assert.ThrowsAsync<SourceSpecException>(async () => await adapter.ResolvePartitionsAsync(Spec(kind, container, "csv", prefix: "nothing/"), ct));
        Assert.Equal("source.prefix", empty.Field);

        var missing = await Assert.ThrowsAsync<SourceSpecException>(async () => await adapter.ResolvePartitionsAsync(Spec(kind, "no-such-container-here", "csv"), ct));
        Assert.Equal(kind == "s3" ? "source.bucket" : "source.container", missing.Field);

        var unknown = await Assert.ThrowsAsync<SourceSpecException>(async () => await adapter.ResolvePartitionsAsync(Spec(kind, container, "csv") with { Connection = "nope" }, ct));
        Assert.Equal("source.connection", unknown.Field);

        var wrongKind = await Assert.ThrowsAsync<SourceSpecException>(async () => await adapter.ResolvePartitionsAsync(Spec(kind, container, "csv") with { Connection = kind == "s3" ? "store-azureblob" : "store-s3" }, ct));
        Assert.Equal("source.connection", wrongKind.Field);

        // A secret reference that points at nothing is named; no value is.
        var connections = servers.Connections();
        connections.Connections["unset"] = new SourceConnection { Kind = kind, ServiceUrl = servers.Connection(kind).ServiceUrl, AccessKey = "someone", Secret = "env:SHARDS_TEST_NOT_SET_" + Guid.NewGuid().ToString("N") };
        using var unset = new ObjectSourceAdapter(connections, new ObjectSourceOptions { CacheDirectory = _cache });
        var noSecret = await Assert.ThrowsAsync<SourceSpecException>(async () => await unset.ResolvePartitionsAsync(Spec(kind, container, "csv") with { Connection = "unset" }, ct));
        Assert.Equal("source.connection", noSecret.Field);
        Assert.Contains("SHARDS_TEST_NOT_SET_", noSecret.Message, StringComparison.Ordinal);

        // A wrong secret: the store refuses, and the message carries no secret (s3rver checks no signatures: Azurite only).
        if (kind == "s3")
        {
            return;
        }

        Environment.SetEnvironmentVariable("SHARDS_TEST_WRONG_SECRET", Convert.ToBase64String(new byte[64]));
        connections.Connections["wrong"] = servers.Connection(kind);
        connections.Connections["wrong"].Secret = "env:SHARDS_TEST_WRONG_SECRET";

        using var wrong = new ObjectSourceAdapter(connections, new ObjectSourceOptions { CacheDirectory = _cache });
        var refused = await Assert.ThrowsAsync<SourceSpecException>(async () => await wrong.ResolvePartitionsAsync(Spec(kind, container, "csv") with { Connection = "wrong" }, ct));
        Assert.Equal("source.container", refused.Field);
        Assert.DoesNotContain(Convert.ToBase64String(new byte[64]), refused.Message, StringComparison.Ordinal);
    }
}
