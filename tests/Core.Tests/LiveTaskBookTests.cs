using FsCheck;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace OrleansShards.Core.Tests;

public class LiveTaskBookTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private LiveTaskBook Book(int partitions = 2, bool ordered = false, int maxAttempts = 3, LiveBookState? state = null)
    {
        var book = new LiveTaskBook(state ?? new LiveBookState(), new LiveBookSettings(10, ordered, Timeout, maxAttempts), _time);
        book.EnsurePartitions(partitions);
        return book;
    }

    [Fact]
    public void Offered_shards_are_leased_in_offset_order_and_partitions_take_turns()
    {
        var book = Book();
        book.Offer(0, [new(0, 10), new(10, 20)]);
        book.Offer(1, [new(0, 10)]);
        var leases = book.Lease("w", 10);
        Assert.Equal(["e0.p0.0-10", "e0.p1.0-10", "e0.p0.10-20"], leases.Select(l => l.TaskId));
        Assert.Equal(new ShardProgress(3, 0, 3, 0, 0), book.Progress);
    }

    [Fact]
    public void A_partial_shard_cut_after_the_wait_keeps_its_bounds_and_later_runs_start_after_it()
    {
        var book = Book(1);
        book.Offer(0, [new(0, 10), new(10, 20), new(20, 23), new(23, 33)]);
        Assert.Equal(["e0.p0.0-10", "e0.p0.10-20", "e0.p0.20-23", "e0.p0.23-33"], book.Lease("w", 10).Select(l => l.TaskId));
    }

    [Fact]
    public void The_committed_offset_is_the_end_of_the_contiguous_done_prefix()
    {
        var book = Book(1);
        book.Offer(0, [new(0, 10), new(10, 20), new(20, 30)]);
        var leases = book.Lease("w", 3);
        Assert.Equal(ReportResult.Accepted, book.Report(leases[2].TaskId, leases[2].LeaseId, "w", true).Result);
        Assert.Equal(0, book[0].Committed);
        Assert.Equal(ReportResult.Accepted, book.Report(leases[0].TaskId, leases[0].LeaseId, "w", true).Result);
        Assert.Equal(10, book[0].Committed);
        Assert.Equal(ReportResult.Accepted, book.Report(leases[1].TaskId, leases[1].LeaseId, "w", true).Result);
        Assert.Equal(30, book[0].Committed);
        Assert.Empty(book[0].DoneAhead);
        Assert.Equal(30, book.State.RecordsDelivered);
    }

    [Fact]
    public void Ordered_partitions_have_at_most_one_lease_and_a_requeued_shard_goes_first()
    {
        var book = Book(1, ordered: true);
        book.Offer(0, [new(0, 10), new(10, 20)]);
        var first = Assert.Single(book.Lease("w", 5));
        Assert.Empty(book.Lease("w", 5));
        Assert.Equal(ReportResult.Accepted, book.Report(first.TaskId, first.LeaseId, "w", false, "boom").Result);
        var again = Assert.Single(book.Lease("w", 5));
        Assert.Equal(first.TaskId, again.TaskId);
        Assert.Equal(2, again.Attempt);
        Assert.Equal(ReportResult.Accepted, book.Report(again.TaskId, again.LeaseId, "w", true).Result);
        Assert.Equal("e0.p0.10-20", Assert.Single(book.Lease("w", 5)).TaskId);
    }

    [Fact]
    public void Repeated_offers_are_ignored_and_a_gap_is_refused()
    {
        var book = Book(1);
        Assert.Equal(20, book.Offer(0, [new(0, 10), new(10, 20)]));
        var version = book.Version;
        Assert.Equal(20, book.Offer(0, [new(0, 10), new(10, 20)]));
        Assert.Equal(version, book.Version);
        Assert.Throws<ArgumentException>(() => book.Offer(0, [new(25, 30)]));
        Assert.Throws<ArgumentException>(() => book.Offer(0, [new(20, 40)]));
        Assert.Equal(2, book.State.ShardsCut);
    }

    [Fact]
    public void Expired_leases_are_requeued_and_a_shard_failing_max_attempts_is_dead_lettered_and_committed_past()
    {
        var book = Book(1, maxAttempts: 2);
        book.Offer(0, [new(0, 10), new(10, 20)]);
        book.Lease("w", 1);
        _time.Advance(Timeout + TimeSpan.FromSeconds(1));
        Assert.Equal(1, book.ExpireDue());
        var second = book.Lease("w", 1)[0];
        Assert.Equal("e0.p0.0-10", second.TaskId);
        Assert.Equal(ReportResult.Accepted, book.Report(second.TaskId, second.LeaseId, "w", false, "bad record").Result);
        var dead = Assert.Single(book.State.DeadLetters);
        Assert.Equal("bad record", dead.LastError);
        Assert.Equal(10, book[0].Committed);
        Assert.Equal(new ShardProgress(2, 1, 0, 0, 1), book.Progress);
    }

    [Fact]
    public void A_report_again_is_a_duplicate_and_a_losing_lease_is_stale()
    {
        var book = Book(1);
        book.Offer(0, [new(0, 10)]);
        var first = book.Lease("a", 1)[0];
        _time.Advance(Timeout + TimeSpan.FromSeconds(1));
        var second = book.Lease("b", 1)[0];
        Assert.Equal(ReportResult.Accepted, book.Report(second.TaskId, second.LeaseId, "b", true).Result);
        Assert.Equal(ReportResult.Duplicate, book.Report(second.TaskId, second.LeaseId, "b", true).Result);
        Assert.Equal(ReportResult.StaleLease, book.Report(first.TaskId, first.LeaseId, "a", true).Result);
        Assert.Equal(ReportResult.UnknownTask, book.Report("e0.p0.10-20", "L9", "a", true).Result);
    }

    [Fact]
    public void State_reopened_from_a_copy_goes_on_where_it_was()
    {
        var book = Book(1);
        book.Offer(0, [new(0, 10), new(10, 20)]);
        var lease = book.Lease("w", 1)[0];
        var reopened = new LiveTaskBook(book.State, new LiveBookSettings(10, false, Timeout, 3), _time);
        Assert.Equal(ReportResult.Accepted, reopened.Report(lease.TaskId, lease.LeaseId, "w", true).Result);
        Assert.Equal("e0.p0.10-20", reopened.Lease("w", 1)[0].TaskId);
    }

    [Fact]
    public void Held_state_stays_small_while_the_backlog_of_full_shards_grows()
    {
        var book = Book(1);
        for (var start = 0L; start < 1_000_000; start += 10)
        {
            book.Offer(0, [new(start, start + 10)]);
        }

        Assert.Single(book[0].Fresh);
        Assert.Equal(100_000, book.Progress.Todo);
    }

    [Property(MaxTest = 200)]
    public bool Without_failures_every_offset_is_delivered_exactly_once_and_committed(PositiveInt seed, bool ordered)
    {
        var random = new Random(seed.Get);
        var book = Book(3, ordered);
        var produced = new long[3];
        var delivered = new List<(int Partition, long Offset)>();
        var held = new List<GrantedLease>();
        for (var step = 0; step < 200; step++)
        {
            switch (random.Next(3))
            {
                case 0:
                    var p = random.Next(3);
                    var size = random.Next(1, 11);
                    book.Offer(p, [new(produced[p], produced[p] + size)]);
                    produced[p] += size;
                    break;
                case 1:
                    held.AddRange(book.Lease("w" + random.Next(3), random.Next(1, 4)));
                    break;
                default:
                    if (held.Count > 0)
                    {
                        var lease = held[random.Next(held.Count)];
                        held.Remove(lease);
                        book.Report(lease.TaskId, lease.LeaseId, LeaseHolder(book, lease), true);
                        for (var o = lease.Shard.Start; o < lease.Shard.End; o++)
                        {
                            delivered.Add((lease.Shard.Partition, o));
                        }
                    }

                    break;
            }
        }

        while (true)
        {
            held.AddRange(book.Lease("w0", 100));
            if (held.Count == 0)
            {
                break;
            }

            foreach (var lease in held)
            {
                book.Report(lease.TaskId, lease.LeaseId, LeaseHolder(book, lease), true);
                for (var o = lease.Shard.Start; o < lease.Shard.End; o++)
                {
                    delivered.Add((lease.Shard.Partition, o));
                }
            }

            held.Clear();
        }

        var expected = Enumerable.Range(0, 3).SelectMany(p => Enumerable.Range(0, (int)produced[p]).Select(o => (p, (long)o))).Order().ToList();
        return (delivered.Order().SequenceEqual(expected)
            && Enumerable.Range(0, 3).All(p => book[p].Committed == produced[p] && book[p].DoneAhead.Count == 0));
    }

    private static string LeaseHolder(LiveTaskBook book, GrantedLease lease) => book.State.InFlight[lease.LeaseId].WorkerId;
}
