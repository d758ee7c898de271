using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace OrleansShards.Core.Tests;

public class PermutationTests
{
    [Property(MaxTest = 300)]
    public bool Every_position_maps_to_a_distinct_element_and_back(PositiveInt size, ulong seed)
    {
        var n = size.Get % 5000;
        var permutation = new SeededPermutation(n, seed);
        var seen = new bool[n];
        for (long position = 0; position < n; position++)
        {
            var element = permutation.At(position);
            if (element < 0 || element >= n || seen[element] || permutation.IndexOf(element) != position)
            {
                return false;
            }

            seen[element] = true;
        }

        return true;
    }

    [Fact]
    public void Same_seed_gives_same_order_and_other_seeds_differ()
    {
        var a = Enumerable.Range(0, 1000).Select(i => new SeededPermutation(1000, 42).At(i)).ToArray();
        var b = Enumerable.Range(0, 1000).Select(i => new SeededPermutation(1000, 42).At(i)).ToArray();
        var c = Enumerable.Range(0, 1000).Select(i => new SeededPermutation(1000, 43).At(i)).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(Enumerable.Range(0, 1000).Select(i => (long)i), a);
    }

    [Fact]
    public void Identity_keeps_source_order()
    {
        var permutation = new SeededPermutation(10, 7, identity: true);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Enumerable.Range(0, 10).Select(i => permutation.At(i)));
    }

    [Fact]
    public void Large_domains_need_no_memory_and_stay_bijective_on_a_sample()
    {
        var permutation = new SeededPermutation(1_000_000_007, 99);
        var rng = new Random(5);
        for (var i = 0; i < 10_000; i++)
        {
            var position = rng.NextInt64(permutation.Count);
            Assert.Equal(position, permutation.IndexOf(permutation.At(position)));
        }
    }
}
