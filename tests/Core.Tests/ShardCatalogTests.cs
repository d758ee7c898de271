namespace OrleansShards.Core.Tests;

public class ShardCatalogTests
{
    [Fact]
    public void Cuts_each_partition_into_shards_of_shard_size_with_a_short_last_one()
    {
        var catalog = new ShardCatalog([25, 0, 10, 3], shardSize: 10);
        var shards = Enumerable.Range(0, (int)catalog.ShardCount).Select(i => catalog[i]).ToList();
        Assert.Equal(
            [new(0, 0, 10), new(0, 10, 20), new(0, 20, 25), new(2, 0, 10), new(3, 0, 3)],
            shards);
        Assert.Equal(38, shards.Sum(s => s.Length));
        for (var i = 0; i < shards.Count; i++)
        {
            Assert.Equal(i, catalog.IndexOf(shards[i]));
        }
    }

    [Theory]
    [InlineData(0, 5, 10)]
    [InlineData(0, 0, 9)]
    [InlineData(0, 20, 30)]
    [InlineData(1, 0, 10)]
    [InlineData(9, 0, 10)]
    public void Ranges_that_are_not_shards_are_not_found(int partition, long start, long end) =>
        Assert.Equal(-1, new ShardCatalog([25, 0, 10], 10).IndexOf(new ShardRange(partition, start, end)));

    [Fact]
    public void Task_ids_are_deterministic_and_parse_back()
    {
        var shard = new ShardRange(3, 20_000, 30_000);
        var id = TaskIds.Format(1, shard);
        Assert.Equal("e1.p3.20000-30000", id);
        Assert.Equal(id, TaskIds.Format(1, new ShardRange(3, 20_000, 30_000)));
        Assert.True(TaskIds.TryParse(id, out var epoch, out var parsed));
        Assert.Equal((1, shard), (epoch, parsed));
        Assert.False(TaskIds.TryParse("e1.p3.30000-20000", out _, out _));
        Assert.False(TaskIds.TryParse("nonsense", out _, out _));
        Assert.False(TaskIds.TryParse("e.p1.0-1", out _, out _));
    }
}
