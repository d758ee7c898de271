using OrleansShards.Readers.Objects;

namespace OrleansShards.Readers.Tests.Objects;

public sealed class ObjectDistributionTests
{
    private static ObjectInfo O(string key, long size = 10) => new(key, size, $"\"etag-{key.Length}\"");

    [Fact]
    public void Without_a_partition_count_every_object_is_a_partition_in_key_order()
    {
        var partitions = ObjectDistribution.Assign([O("b"), O("a"), O("c")], null, null, null);
        Assert.Equal(["a", "b", "c"], partitions.Select(p => Assert.Single(p).Key));
    }

    [Fact]
    public void Hash_assigns_by_the_key_alone_and_keeps_key_order_within_a_partition()
    {
        var objects = Enumerable.Range(0, 200).Select(i => O($"k/{i:D4}")).ToList();
        var partitions = ObjectDistribution.Assign(objects, "hash", 7, null);
        Assert.Equal(7, partitions.Count);
        Assert.Equal(200, partitions.Sum(p => p.Count));
        for (var p = 0; p < 7; p++)
        {
            Assert.All(partitions[p], o => Assert.Equal((ulong)p, ObjectDistribution.HashOf(o.Key) % 7));
            Assert.Equal(partitions[p].Select(o => o.Key).Order(StringComparer.Ordinal), partitions[p].Select(o => o.Key));
        }

        // Adding an object moves no other object.
        var more = ObjectDistribution.Assign([.. objects, O("k/new")], "hash", 7, null);
        Assert.All(Enumerable.Range(0, 7), p => Assert.Empty(partitions[p].Except(more[p])));
    }

    [Fact]
    public void Pattern_takes_the_partition_number_from_the_first_group()
    {
        var partitions = ObjectDistribution.Assign([O("p=3/x"), O("p=0/b"), O("p=0/a")], "pattern", null, @"p=(\d+)/");
        Assert.Equal(4, partitions.Count);
        Assert.Equal(["p=0/a", "p=0/b"], partitions[0].Select(o => o.Key));
        Assert.Empty(partitions[1]);
        Assert.Equal(["p=3/x"], partitions[3].Select(o => o.Key));
        Assert.Equal(6, ObjectDistribution.Assign([O("p=3/x")], "pattern", 6, @"p=(\d+)/").Count);
    }

    [Theory]
    [InlineData(@"p=\d+/", null, "has no group")]
    [InlineData(@"p=(\d+", null, "not a regular expression")]
    [InlineData(@"p=(\d+)/", 2, "below source.partitions")]
    [InlineData(@"(\w+)=", null, "not a partition number")]
    public void Bad_patterns_are_refused(string pattern, int? partitions, string reason)
    {
        var e = Assert.Throws<SourceSpecException>(() => ObjectDistribution.Assign([O("p=3/x")], "pattern", partitions, pattern));
        Assert.Equal("source.partitionPattern", e.Field);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_locator_round_trips_and_names_no_credentials()
    {
        var objects = new[] { O("a/ü b.csv", 5), O("a/%2F?x=1#y", 0), O(new string('k', 500), long.MaxValue / 4) };
        var locator = new ObjectLocator("s3", "conn/x y", "bucket", 12, objects);
        var text = locator.ToString();
        Assert.StartsWith("s3://conn%2Fx%20y/bucket/12?objects=", text, StringComparison.Ordinal);
        Assert.True(ObjectLocator.TryParse(text, out var parsed));
        Assert.Equal(("s3", "conn/x y", "bucket", 12), (parsed.Kind, parsed.Connection, parsed.Container, parsed.Partition));
        Assert.Equal(objects, parsed.Objects);
        Assert.Equal(locator.ListHash, parsed.ListHash);
        Assert.False(ObjectLocator.TryParse("s3://c/b/1?objects=!!!", out _));
        Assert.False(ObjectLocator.TryParse("/data/file.csv", out _));
        Assert.NotEqual(locator.ListHash, new ObjectLocator("s3", "c", "bucket", 12, [objects[0] with { ETag = "\"other\"" }, objects[1], objects[2]]).ListHash);
    }
}
