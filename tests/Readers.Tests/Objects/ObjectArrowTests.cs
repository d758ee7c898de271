using System.Text;
using System.Text.Unicode;
using Apache.Arrow;
using Apache.Arrow.Types;
using OrleansShards.Core;
using OrleansShards.Readers.Objects;
using OrleansShards.Readers.TfRecord;

namespace OrleansShards.Readers.Tests.Objects;

/// <summary>Object sources as Arrow, against a real s3rver: a page spanning objects keeps the source's types.</summary>
public sealed class ObjectArrowTests(ObjectServers servers) : IDisposable
{
    private const string Kind = "s3";
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "shards-object-arrow-" + Guid.NewGuid().ToString("N")[..8]);

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

    private static string JsonBytes(Field field, byte[] bytes) =>
        field.Name != "bytes" && Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : Convert.ToBase64String(bytes);

    private async Task<RecordBatch> ReadAllAsync(string container, string transformer, string prefix)
    {
        var ct = TestContext.Current.CancellationToken;
        using var adapter = new ObjectSourceAdapter(servers.Connections(), new ObjectSourceOptions { CacheDirectory = _cache, IndexStride = 8 });
        var spec = new SourceSpec { Kind = Kind, Connection = "store-" + Kind, Bucket = container, Prefix = prefix, Transformer = transformer, Partitions = 1 };
        var reader = adapter.ReaderFor(spec);
        var description = await reader.DescribeAsync(Assert.Single(await adapter.ResolvePartitionsAsync(spec, ct)), ct);
        return await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, 0, description.RecordCount, ["id", "vec", "blob", "emb"]), ct);
    }

    [Fact]
    public async Task A_page_spanning_tfrecord_objects_is_typed_from_the_features_and_raw_objects_are_binary()
    {
        await servers.RequireAsync(Kind);
        var container = await servers.CreateContainerAsync(Kind);
        for (var o = 0; o < 3; o++)
        {
            var stream = new MemoryStream();
            var writer = new TfRecordWriter(stream);
            for (var i = 0; i < 40; i++)
            {
                writer.Write(TfRecordTestFiles.Example(TfRecordTestFiles.Features(o * 40 + i)));
            }

            await servers.PutAsync(Kind, container, $"tf/part-{o}.tfrecord", stream.ToArray());
        }

        using var batch = await ReadAllAsync(container, "tfrecord", "tf/");
        Assert.Equal(120, batch.Count);
        int[] rows = [.. Enumerable.Range(0, 120), 5, 45, 85, 119, 0];
        var schema = await ArrowAssert.SameAsJsonAsync(batch, rows, JsonBytes, bareSingleValues: true);
        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<Int64Type>(types["id"]);
        Assert.IsType<Int64Type>(Assert.IsType<ListType>(types["vec"]).ValueDataType);
        Assert.IsType<BinaryType>(types["blob"]);
        Assert.IsType<FloatType>(Assert.IsType<ListType>(types["emb"]).ValueDataType);

        // Raw objects: the key and the object's bytes as binary.
        await servers.PutAsync(Kind, container, "raw/a.bin", [0xFF, 0x00, 0x01]);
        await servers.PutAsync(Kind, container, "raw/b.bin", Encoding.UTF8.GetBytes("text"));
        var ct = TestContext.Current.CancellationToken;
        using var adapter = new ObjectSourceAdapter(servers.Connections(), new ObjectSourceOptions { CacheDirectory = _cache });
        var spec = new SourceSpec { Kind = Kind, Connection = "store-" + Kind, Bucket = container, Prefix = "raw/", Transformer = "raw", Partitions = 1 };
        var reader = adapter.ReaderFor(spec);
        var description = await reader.DescribeAsync(Assert.Single(await adapter.ResolvePartitionsAsync(spec, ct)), ct);
        using var raw = await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, 0, 2), ct);
        var rawSchema = await ArrowAssert.SameAsJsonAsync(raw, [1, 0]);
        Assert.Equal([ArrowTypeId.String, ArrowTypeId.Binary], rawSchema.FieldsList.Select(f => f.DataType.TypeId));
    }
}
