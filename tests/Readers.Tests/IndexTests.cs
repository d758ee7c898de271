using OrleansShards.Readers.Csv;
using OrleansShards.Readers.JsonLines;
namespace OrleansShards.Readers.Tests;

public sealed class IndexTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Index_is_written_beside_the_data_and_reused_by_another_reader()
    {
        var path = _dir.File("data.csv");
        TestData.WriteCsv(path, 5000);
        var ct = TestContext.Current.CancellationToken;
        var first = new CsvPartitionReader();
        var d1 = await first.DescribeAsync(path, ct);
        Assert.Equal(1, first.IndexScanCount);
        var side = path + ".osidx";
        Assert.True(File.Exists(side));
        var sideTime = File.GetLastWriteTimeUtc(side);
        var sideBytes = File.ReadAllBytes(side);
        Assert.True(sideBytes.Length < 200, $"the index of 5 entries is small, not {sideBytes.Length} bytes");

        // The same reader does not reopen the index.
        await first.DescribeAsync(path, ct);
        using (await first.ReadAsync(new ShardReadRequest(path, d1.Fingerprint, 4000, 4100), ct))
        {
        }

        Assert.Equal(1, first.IndexScanCount);
        Assert.Equal(0, first.IndexLoadCount);

        await Task.Delay(20, ct);
        var second = new CsvPartitionReader();
        var d2 = await second.DescribeAsync(path, ct);
        Assert.Equal(0, second.IndexScanCount);
        Assert.Equal(1, second.IndexLoadCount);
        Assert.Equal(d1, d2 with { Columns = d1.Columns });
        Assert.Equal(d1.Columns, d2.Columns);
        Assert.Equal(sideTime, File.GetLastWriteTimeUtc(side));
        using var batch = await second.ReadAsync(new ShardReadRequest(path, d1.Fingerprint, 4095, 4100), ct);
        Assert.Equal("4095", batch.GetText(0, "id"));
    }

    [Fact]
    public async Task Index_is_rebuilt_after_the_file_changes_and_old_fingerprints_are_refused()
    {
        var path = _dir.File("grow.jsonl");
        TestData.WriteJsonLines(path, 3000);
        var ct = TestContext.Current.CancellationToken;
        var reader = new JsonLinesPartitionReader();
        var before = await reader.DescribeAsync(path, ct);
        var side = path + ".osidx";
        var sideTime = File.GetLastWriteTimeUtc(side);
        await Task.Delay(20, ct);

        File.AppendAllText(path, TestData.JsonRow(3000) + "\n");
        var after = await reader.DescribeAsync(path, ct);
        Assert.Equal(3001, after.RecordCount);
        Assert.Equal(2, reader.IndexScanCount);
        Assert.NotEqual(before.Fingerprint, after.Fingerprint);
        Assert.NotEqual(sideTime, File.GetLastWriteTimeUtc(side));

        var e = await Assert.ThrowsAsync<SourceChangedException>(async () =>
            await reader.ReadAsync(new ShardReadRequest(path, before.Fingerprint, 0, 10), ct));
        Assert.Equal(path, e.Path);
        Assert.Contains(path, e.Message);
        Assert.Contains("length", e.Message);

        // A new reader rebuilds nothing: the side file matches the file now.
        var fresh = new JsonLinesPartitionReader();
        Assert.Equal(after, await fresh.DescribeAsync(path, ct) with { Columns = after.Columns });
        Assert.Equal(0, fresh.IndexScanCount);
    }

    [Fact]
    public async Task Same_length_and_time_with_other_content_is_caught_by_the_hash()
    {
        var path = _dir.File("same.csv");
        File.WriteAllText(path, "a\n1\n2\n");
        var ct = TestContext.Current.CancellationToken;
        var d = await new CsvPartitionReader().DescribeAsync(path, ct);
        File.WriteAllText(path, "a\n3\n4\n");
        File.SetLastWriteTimeUtc(path, new DateTime(d.Fingerprint.LastWriteTimeUtcTicks, DateTimeKind.Utc));
        File.Delete(path + ".osidx");
        var e = await Assert.ThrowsAsync<SourceChangedException>(async () =>
            await new CsvPartitionReader().ReadAsync(new ShardReadRequest(path, d.Fingerprint, 0, 2), ct));
        Assert.Contains("content hash", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task Modified_time_alone_is_a_change_and_a_deleted_file_too()
    {
        var path = _dir.File("touch.csv");
        File.WriteAllText(path, "a\n1\n2\n");
        var ct = TestContext.Current.CancellationToken;
        var reader = new CsvPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(5));
        var e = await Assert.ThrowsAsync<SourceChangedException>(async () => await reader.ReadAsync(new ShardReadRequest(path, d.Fingerprint, 0, 2), ct));
        Assert.Contains("modification time", e.Message);
        File.Delete(path);
        e = await Assert.ThrowsAsync<SourceChangedException>(async () => await reader.ReadAsync(new ShardReadRequest(path, d.Fingerprint, 0, 2), ct));
        Assert.Contains("no longer exists", e.Message);
    }

    [Fact]
    public async Task Damaged_or_foreign_side_file_is_rebuilt()
    {
        var path = _dir.File("damaged.csv");
        TestData.WriteCsv(path, 2000);
        var ct = TestContext.Current.CancellationToken;
        var d = await new CsvPartitionReader().DescribeAsync(path, ct);
        var side = path + ".osidx";
        var bytes = File.ReadAllBytes(side);
        bytes[^12] ^= 0xFF;
        File.WriteAllBytes(side, bytes);
        var reader = new CsvPartitionReader();
        Assert.Equal(d.RecordCount, (await reader.DescribeAsync(path, ct)).RecordCount);
        Assert.Equal(1, reader.IndexScanCount);

        // Other options (no header) make another index.
        var noHeader = new CsvPartitionReader(new CsvReaderOptions { Header = false });
        Assert.Equal(d.RecordCount + 1, (await noHeader.DescribeAsync(path, ct)).RecordCount);
        Assert.Equal(1, noHeader.IndexScanCount);
    }
}
