using System.Globalization;
using Microsoft.Extensions.Time.Testing;

namespace OrleansShards.Core.Tests;

/// <summary>What the task book keeps of caller input is bounded by construction: error texts are cut, lease ids keyed.</summary>
public class InputBoundTests
{
    [Theory]
    [InlineData(10, 64)]
    [InlineData(64, 64)]
    [InlineData(65, 64)]
    [InlineData(1_000_000, 2048)]
    [InlineData(50_000, TaskErrors.MaxLength)]
    public void An_error_text_is_cut_to_the_limit_with_a_marker_counting_what_was_cut(int length, int limit)
    {
        var text = new string('e', length);
        var kept = TaskErrors.Truncate(text, limit);
        if (length <= limit)
        {
            Assert.Same(text, kept);
            return;
        }

        Assert.InRange(kept.Length, limit - 8, limit);
        var marker = kept.IndexOf('…', StringComparison.Ordinal);
        Assert.Equal($"…[truncated {(length - marker).ToString(CultureInfo.InvariantCulture)} chars]", kept[marker..]);
    }

    [Fact]
    public void A_failure_with_a_huge_error_is_kept_cut_in_retries_and_dead_letters()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var book = new TaskBook(new TaskBookState { LeaseKey = "k" }, new TaskBookSettings(1, false, 0, TimeSpan.FromMinutes(1), MaxAttempts: 2), new ShardCatalog([20], 10), time);
        var huge = new string('x', 1 << 20);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var lease = book.Lease("w", 1).Single();
            Assert.Equal(ReportResult.Accepted, book.Report(lease.TaskId, lease.LeaseId, "w", done: false, huge).Result);
        }

        Assert.All(book.State.Retries.Values, r => Assert.InRange(r.LastError!.Length, 1, TaskErrors.MaxLength));
        Assert.InRange(book.State.DeadLetters.Single().LastError.Length, 1, TaskErrors.MaxLength);
    }

    [Fact]
    public void Lease_ids_carry_their_sequence_and_a_tag_that_depends_on_the_key()
    {
        var a = LeaseIds.Of("key-a", 7);
        Assert.Matches("^L7\\.[A-Za-z0-9_-]{22}$", a);
        Assert.Equal(a, LeaseIds.Of("key-a", 7));
        Assert.NotEqual(a, LeaseIds.Of("key-b", 7));
        Assert.NotEqual(a[3..], LeaseIds.Of("key-a", 8)[3..]);
        Assert.Equal(7, LeaseIds.SequenceOf(a));
        Assert.Equal("L7", LeaseIds.Of(null, 7)); // a book stored before keys existed
        Assert.Equal(7, LeaseIds.SequenceOf("L7"));
        Assert.Null(LeaseIds.SequenceOf("L.x"));
        Assert.Null(LeaseIds.SequenceOf("X7"));
    }

    [Fact]
    public void A_shard_size_near_long_max_makes_one_shard_per_partition_without_overflow()
    {
        var catalog = new ShardCatalog([25, 0, 3], long.MaxValue - 1);
        Assert.Equal(2, catalog.ShardCount);
        Assert.Equal(("shardSize", "must be between 1 and 2^40 records"), new JobSpec { Source = new SourceSpec { Kind = "csv", Paths = ["a.csv"] }, ShardSize = long.MaxValue - 1 }.Validate());
    }
}
