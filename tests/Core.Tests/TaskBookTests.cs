using Microsoft.Extensions.Time.Testing;

namespace OrleansShards.Core.Tests;

public class TaskBookTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private TaskBook Book(TaskBookState? state = null, int epochs = 1, bool shuffle = false, int maxAttempts = 3, long[]? counts = null) =>
        new(state ?? new TaskBookState(), new TaskBookSettings(epochs, shuffle, 7, Timeout, maxAttempts), new ShardCatalog(counts ?? [100, 50], 10), _time);

    [Fact]
    public void Hands_out_every_shard_once_then_completes()
    {
        var book = Book();
        var leases = book.Lease("w", 100);
        Assert.Equal(15, leases.Count);
        Assert.Equal(15, leases.Select(l => l.TaskId).Distinct().Count());
        Assert.Empty(book.Lease("w", 1));
        foreach (var lease in leases)
        {
            Assert.Equal(ReportResult.Accepted, book.Report(lease.TaskId, lease.LeaseId, "w", done: true).Result);
        }

        Assert.True(book.IsCompleted);
        Assert.Equal(new ShardProgress(15, 0, 0, 15, 0), book.Progress);
        Assert.Equal(150, book.State.Epochs[0].RecordsDelivered);
    }

    [Fact]
    public void Same_report_twice_is_a_duplicate_and_changes_nothing()
    {
        var book = Book();
        var lease = book.Lease("w", 1)[0];
        Assert.Equal(ReportResult.Accepted, book.Report(lease.TaskId, lease.LeaseId, "w", true).Result);
        var version = book.Version;
        Assert.Equal(ReportResult.Duplicate, book.Report(lease.TaskId, lease.LeaseId, "w", true).Result);
        Assert.Equal(version, book.Version);
        Assert.Equal(1, book.State.Epochs[0].ShardsDone);
    }

    [Fact]
    public void Expired_lease_is_leased_again_and_its_late_report_is_stale()
    {
        var book = Book(counts: [10]);
        var first = book.Lease("slow", 1)[0];
        _time.Advance(Timeout + TimeSpan.FromSeconds(1));
        var second = book.Lease("fast", 1)[0];
        Assert.Equal(first.TaskId, second.TaskId);
        Assert.Equal(2, second.Attempt);
        var version = book.Version;
        var stale = book.Report(first.TaskId, first.LeaseId, "slow", true);
        Assert.Equal(ReportResult.StaleLease, stale.Result);
        Assert.Contains(second.LeaseId, stale.Reason);
        Assert.Equal(version, book.Version);
        Assert.Equal(ReportResult.Accepted, book.Report(second.TaskId, second.LeaseId, "fast", true).Result);
        Assert.Equal(ReportResult.StaleLease, book.Report(first.TaskId, first.LeaseId, "slow", true).Result);
        Assert.Equal(ReportResult.Duplicate, book.Report(second.TaskId, second.LeaseId, "fast", true).Result);
        Assert.True(book.IsCompleted);
    }

    [Fact]
    public void Heartbeat_keeps_a_lease_alive_past_its_first_expiry()
    {
        var book = Book(counts: [10]);
        var lease = book.Lease("w", 1)[0];
        _time.Advance(Timeout - TimeSpan.FromSeconds(1));
        var beat = book.Heartbeat("w", [lease.LeaseId, "L999"]);
        Assert.Equal(_time.GetUtcNow() + Timeout, beat[0].ExpiresAt);
        Assert.Null(beat[1].ExpiresAt);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, book.ExpireDue());
        Assert.Equal(ReportResult.Accepted, book.Report(lease.TaskId, lease.LeaseId, "w", true).Result);
    }

    [Fact]
    public void Failures_are_retried_then_dead_lettered_with_the_last_error()
    {
        var book = Book(counts: [10], maxAttempts: 2);
        var a = book.Lease("w", 1)[0];
        Assert.Equal(ReportResult.Accepted, book.Report(a.TaskId, a.LeaseId, "w", false, "boom 1").Result);
        var b = book.Lease("w", 1)[0];
        Assert.Equal((a.TaskId, 2), (b.TaskId, b.Attempt));
        Assert.Equal(ReportResult.Accepted, book.Report(b.TaskId, b.LeaseId, "w", false, "boom 2").Result);
        Assert.Empty(book.Lease("w", 1));
        var dead = Assert.Single(book.State.DeadLetters);
        Assert.Equal(("boom 2", 2), (dead.LastError, dead.Attempts));
        Assert.True(book.IsCompleted);
        Assert.Equal(new ShardProgress(1, 0, 0, 0, 1), book.Progress);
    }

    [Fact]
    public void Released_leases_go_back_to_the_queue_without_counting_an_attempt()
    {
        var book = Book(counts: [10], maxAttempts: 1);
        var a = book.Lease("w", 1)[0];
        Assert.Equal(0, book.Release("other", [a.LeaseId]));
        Assert.Equal(1, book.Release("w", [a.LeaseId]));
        var b = book.Lease("w2", 1)[0];
        Assert.Equal(a.TaskId, b.TaskId);
        Assert.Equal(ReportResult.Accepted, book.Report(b.TaskId, b.LeaseId, "w2", true).Result);
        Assert.Empty(book.State.DeadLetters);
    }

    [Fact]
    public void Retried_lease_request_gets_the_same_leases()
    {
        var book = Book();
        var first = book.Lease("w", 3, "req-1");
        var again = book.Lease("w", 3, "req-1");
        Assert.Equal(first, again);
        Assert.NotEqual(first, book.Lease("w", 3, "req-2"));
    }

    [Fact]
    public void Wrong_worker_or_wrong_task_is_stale_and_unknown_task_is_unknown()
    {
        var book = Book();
        var lease = book.Lease("w", 2);
        Assert.Equal(ReportResult.StaleLease, book.Report(lease[0].TaskId, lease[0].LeaseId, "intruder", true).Result);
        Assert.Equal(ReportResult.StaleLease, book.Report(lease[1].TaskId, lease[0].LeaseId, "w", true).Result);
        Assert.Equal(ReportResult.UnknownTask, book.Report("e0.p0.5-15", lease[0].LeaseId, "w", true).Result);
        Assert.Equal(ReportResult.UnknownTask, book.Report("e3.p0.0-10", lease[0].LeaseId, "w", true).Result);
    }

    [Fact]
    public void Epochs_advance_with_a_new_seeded_order_and_state_stays_small()
    {
        var book = Book(epochs: 3, shuffle: true, counts: [10_000], maxAttempts: 5);
        var orders = new List<string[]>();
        for (var epoch = 0; epoch < 3; epoch++)
        {
            Assert.Equal(epoch, book.Epoch);
            var leases = book.Lease("w", 2000);
            Assert.Equal(1000, leases.Count);
            orders.Add(leases.Select(l => l.TaskId[(l.TaskId.IndexOf('.') + 1)..]).ToArray());
            foreach (var lease in leases)
            {
                book.Report(lease.TaskId, lease.LeaseId, "w", true);
            }

            Assert.Empty(book.State.InFlight);
            Assert.Empty(book.State.Requeued);
        }

        Assert.True(book.IsCompleted);
        Assert.NotEqual(orders[0], orders[1]);
        Assert.Equal(orders[0].Order(), orders[1].Order());
    }

    [Fact]
    public void Reopened_state_continues_where_it_stood()
    {
        var state = new TaskBookState();
        var book = Book(state, epochs: 2, shuffle: true);
        var leases = book.Lease("w", 5);
        book.Report(leases[0].TaskId, leases[0].LeaseId, "w", true);
        var reopened = Book(state, epochs: 2, shuffle: true);
        Assert.Equal(book.Progress, reopened.Progress);
        Assert.Equal(ReportResult.Accepted, reopened.Report(leases[1].TaskId, leases[1].LeaseId, "w", true).Result);
        Assert.Equal(ReportResult.Duplicate, reopened.Report(leases[0].TaskId, leases[0].LeaseId, "w", true).Result);
        var rest = reopened.Lease("w", 100);
        Assert.DoesNotContain(rest, l => leases.Any(x => x.TaskId == l.TaskId));
    }

    [Fact]
    public void Many_epochs_keep_a_bounded_history_and_running_totals()
    {
        var book = Book(counts: [20], epochs: 200);
        while (!book.IsCompleted)
        {
            foreach (var lease in book.Lease("w", 10))
            {
                book.Report(lease.TaskId, lease.LeaseId, "w", true);
            }
        }

        Assert.Equal(TaskBook.EpochHistoryLimit, book.State.Epochs.Count);
        Assert.Equal(Enumerable.Range(200 - TaskBook.EpochHistoryLimit, TaskBook.EpochHistoryLimit), book.State.Epochs.Select(e => e.Epoch));
        Assert.All(book.State.Epochs, e => Assert.Equal(20, e.RecordsDelivered));
        Assert.Equal((200 * 20L, 200 * 2L), (book.State.TotalRecordsDelivered, book.State.TotalShardsDone));
    }

    [Fact]
    public void An_empty_source_completes_at_once()
    {
        var book = Book(counts: [0, 0], epochs: 2);
        Assert.True(book.IsCompleted);
        Assert.Empty(book.Lease("w", 1));
    }

    [Fact]
    public void Dead_letters_of_the_current_epoch_are_retried_and_those_of_an_ended_epoch_are_not()
    {
        var book = Book(epochs: 2, maxAttempts: 1, counts: [30]);
        string? deadInFirst = null;
        for (var epoch = 0; epoch < 2; epoch++)
        {
            var leases = book.Lease("w", 100);
            Assert.Equal(3, leases.Count);
            Assert.Equal(ReportResult.Accepted, book.Report(leases[0].TaskId, leases[0].LeaseId, "w", done: false, error: "poisoned").Result);
            deadInFirst ??= leases[0].TaskId;
            foreach (var lease in leases.Skip(1))
            {
                book.Report(lease.TaskId, lease.LeaseId, "w", done: true);
            }
        }

        Assert.True(book.IsCompleted);
        var deadInLast = book.State.DeadLetters.Single(d => d.Epoch == 1);
        var lastTask = TaskIds.Format(1, deadInLast.Range);
        var version = book.Version;

        var answer = book.RetryDeadLetters([deadInFirst!, lastTask, "e1.p0.5-6"]);

        Assert.Equal([lastTask], answer.Retried);
        Assert.Equal([deadInFirst!, "e1.p0.5-6"], answer.NotRetried.Select(n => n.TaskId));
        Assert.Contains("epoch 0 has ended", answer.NotRetried[0].Reason, StringComparison.Ordinal);
        Assert.False(book.IsCompleted);
        Assert.True(book.Version > version);
        var again = Assert.Single(book.Lease("w", 100));
        Assert.Equal((lastTask, 1), (again.TaskId, again.Attempt));
        Assert.Equal(ReportResult.Accepted, book.Report(again.TaskId, again.LeaseId, "w", done: true).Result);
        Assert.True(book.IsCompleted);
        Assert.Equal(new ShardProgress(3, 0, 0, 3, 0), book.Progress);
        Assert.Single(book.State.DeadLetters);
    }
}
