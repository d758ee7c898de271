using System.Globalization;
using System.Text;
using OrleansShards.Core;
using OrleansShards.Readers.Objects;

namespace OrleansShards.Readers.Tests.Objects;

/// <summary>The size bound of the object cache, against a real s3rver: LRU eviction, leases, stale versions first.</summary>
public sealed class ObjectCacheTests(ObjectServers servers) : IDisposable
{
    private const string Kind = "s3";
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "shards-object-cache-bound-" + Guid.NewGuid().ToString("N")[..8]);

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

    private ObjectSourceAdapter Adapter(long maxBytes) => new(servers.Connections(), new ObjectSourceOptions
    {
        CacheDirectory = _cache,
        RecheckInterval = TimeSpan.FromMinutes(5),
        IndexStride = 4,
        CacheMaxBytes = maxBytes,
    });

    private static SourceSpec Spec(string container, string prefix) => new()
    {
        Kind = Kind,
        Connection = "store-" + Kind,
        Bucket = container,
        Prefix = prefix,
        Transformer = "csv",
        Partitions = 1,
    };

    private static string Csv(int first, int count, string tag = "v")
    {
        var text = new StringBuilder("id,text\n");
        for (var id = first; id < first + count; id++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{id},{tag} {id} \"q\"\n");
        }

        return text.ToString();
    }

    /// <summary>Every record of the source's one partition, read in slices, as (id, text).</summary>
    private static async Task<List<(long Id, string Text)>> ReadAll(ObjectSourceAdapter adapter, SourceSpec spec)
    {
        var ct = TestContext.Current.CancellationToken;
        var locator = Assert.Single(await adapter.ResolvePartitionsAsync(spec, ct));
        var reader = adapter.ReaderFor(spec);
        var description = await reader.DescribeAsync(locator, ct);
        var rows = new List<(long, string)>();
        for (long start = 0; start < description.RecordCount; start += 70)
        {
            var end = Math.Min(description.RecordCount, start + 70);
            using var batch = await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, start, end), ct);
            for (var i = 0; i < batch.Count; i++)
            {
                rows.Add((long.Parse(batch.GetText(i, "id")!, CultureInfo.InvariantCulture), batch.GetText(i, "text")!));
            }
        }

        return rows;
    }

    private string[] Copies() => Directory.Exists(_cache)
        ? [.. Directory.EnumerateFiles(_cache, "*" + ObjectCache.ObjectExtension, SearchOption.AllDirectories).Order(StringComparer.Ordinal)]
        : [];

    private long DiskBytes() => Directory.Exists(_cache)
        ? Directory.EnumerateFiles(_cache, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".part", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length)
        : 0;

    private static long SizeWithIndex(string copy) => new FileInfo(copy).Length + (File.Exists(copy + ".osidx") ? new FileInfo(copy + ".osidx").Length : 0);

    [Theory]
    [InlineData(1L)]
    [InlineData(20_000L)]
    public async Task A_bound_smaller_than_the_objects_still_reads_every_record_and_keeps_the_disk_within_it(long maxBytes)
    {
        await servers.RequireAsync(Kind);
        var container = await servers.CreateContainerAsync(Kind);
        const int objects = 6, rows = 400;
        for (var i = 0; i < objects; i++)
        {
            await servers.PutAsync(Kind, container, $"data/part-{i}.csv", Csv(i * rows, rows));
        }

        using var adapter = Adapter(maxBytes);
        var spec = Spec(container, "data/");
        var read = await ReadAll(adapter, spec);
        Assert.Equal(Enumerable.Range(0, objects * rows).Select(i => (long)i), read.Select(r => r.Id));
        Assert.All(read, r => Assert.Equal($"v {r.Id} \"q\"", r.Text));

        var cache = adapter.ObjectReaderFor(spec).Cache;
        Assert.Equal(maxBytes, cache.MaxBytes);
        Assert.True(cache.Evictions >= objects - 1, $"{cache.Evictions} evictions");
        // Each object is about 7 KB: at most what fits in the bound stays (nothing at all with one byte).
        Assert.True(DiskBytes() <= maxBytes, $"{DiskBytes()} bytes on disk over the bound of {maxBytes}");
        Assert.True(Copies().Length < objects, $"{Copies().Length} copies kept");
        Assert.All(Copies(), c => Assert.True(File.Exists(c)));
        Assert.All(Directory.EnumerateFiles(_cache, "*.osidx", SearchOption.AllDirectories), side => Assert.True(File.Exists(side[..^".osidx".Length]), $"{side} outlived its copy"));

        // Read again: evicted objects come back from the store, every record still right.
        Assert.Equal(read, await ReadAll(adapter, spec));
    }

    [Fact]
    public async Task A_copy_that_a_read_holds_is_not_removed_until_released()
    {
        await servers.RequireAsync(Kind);
        var container = await servers.CreateContainerAsync(Kind);
        await servers.PutAsync(Kind, container, "held/a.csv", Csv(0, 300, "held"));
        for (var i = 0; i < 4; i++)
        {
            await servers.PutAsync(Kind, container, $"other/b{i}.csv", Csv(1000 + i * 300, 300));
        }

        using var adapter = Adapter(1);
        var held = Spec(container, "held/");
        var cache = adapter.ObjectReaderFor(held).Cache;

        // Released after the read: with a bound of one byte, nothing stays.
        Assert.Equal(300, (await ReadAll(adapter, held)).Count);
        Assert.Empty(Copies());

        // Hold the copy of held/a.csv as every describe and read does while it uses a copy, then read the other
        // objects past the bound.
        using (var growing = Adapter(long.MaxValue))
        {
            await ReadAll(growing, held);
        }

        var copy = Assert.Single(Copies());
        using (cache.Acquire(copy))
        {
            ObjectCache.For(_cache, 1);
            var others = await ReadAll(adapter, Spec(container, "other/"));
            Assert.Equal(1200, others.Count);
            Assert.True(File.Exists(copy), "the held copy was deleted");
            Assert.Equal([copy], Copies()); // everything else went
        }

        Assert.False(File.Exists(copy), "the copy outlived its lease over the bound");
        Assert.False(File.Exists(copy + ".osidx"));
    }

    [Fact]
    public async Task The_old_version_of_a_re_uploaded_object_goes_first()
    {
        await servers.RequireAsync(Kind);
        var container = await servers.CreateContainerAsync(Kind);
        await servers.PutAsync(Kind, container, "y/y.csv", Csv(0, 300, "y"));
        await servers.PutAsync(Kind, container, "x/x.csv", Csv(0, 300, "x1"));
        using var adapter = Adapter(long.MaxValue);
        var x = Spec(container, "x/");
        var y = Spec(container, "y/");

        // y is read first, x after it: by recency alone y would be the first to go.
        Assert.All(await ReadAll(adapter, y), r => Assert.StartsWith("y ", r.Text, StringComparison.Ordinal));
        var yCopy = Assert.Single(Copies());
        Assert.All(await ReadAll(adapter, x), r => Assert.StartsWith("x1 ", r.Text, StringComparison.Ordinal));
        var xOld = Assert.Single(Copies().Except([yCopy]));

        // Room for the two copies and half of a third.
        var bound = SizeWithIndex(yCopy) + SizeWithIndex(xOld) + (SizeWithIndex(xOld) / 2);
        ObjectCache.For(_cache, bound);

        await servers.PutAsync(Kind, container, "x/x.csv", Csv(0, 300, "x2"));
        Assert.All(await ReadAll(adapter, x), r => Assert.StartsWith("x2 ", r.Text, StringComparison.Ordinal));

        var xNew = Assert.Single(Copies().Except([yCopy, xOld]));
        Assert.Equal(Path.GetFileName(xOld).Split('.')[0], Path.GetFileName(xNew).Split('.')[0]); // the same key
        Assert.False(File.Exists(xOld), "the stale version was kept");
        Assert.True(File.Exists(yCopy), "the older but current copy was evicted before the stale version");
        Assert.True(DiskBytes() <= bound, $"{DiskBytes()} bytes on disk over the bound of {bound}");
    }
}
