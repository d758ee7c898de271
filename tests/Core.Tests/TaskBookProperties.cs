using FsCheck;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace OrleansShards.Core.Tests;

/// <summary>
/// Drives a task book through arbitrary interleavings of lease, report done, report failed,
/// expiry, release, duplicate and stale reports, then drains it, and checks the delivery promises.
/// A worker "delivers" a shard when it processes a lease: before reporting done, and also, in the
/// crash case, before letting the lease expire without a report.
/// </summary>
public class TaskBookProperties
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private sealed record Outcome(Dictionary<(int Epoch, string Shard), int> Deliveries, bool Faults, long ShardCount, int Epochs, bool StaleChangedSomething, bool Completed);

    private static Outcome Run(byte[] operations, int shardCount, int epochs, ulong seed, bool allowFaults)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var catalog = new ShardCatalog([shardCount * 3L, 0, shardCount * 2L], 5);
        var book = new TaskBook(new TaskBookState(), new TaskBookSettings(epochs, true, seed, Timeout, MaxAttempts: int.MaxValue), catalog, time);
        var deliveries = new Dictionary<(int, string), int>();
        var held = new List<(GrantedLease Lease, string Worker)>();
        var ended = new List<(GrantedLease Lease, string Worker)>();
        var faults = false;
        var staleChanged = false;

        void Deliver(GrantedLease lease)
        {
            var key = (lease.Epoch, $"{lease.Shard}");
            deliveries[key] = deliveries.GetValueOrDefault(key) + 1;
        }

        foreach (var op in operations)
        {
            var worker = "w" + (op % 3);
            var pick = op / 8;
            switch (allowFaults ? op % 8 : op % 4)
            {
                case 0:
                case 1:
                    held.AddRange(book.Lease(worker, 1 + (op % 5)).Select(l => (l, worker)));
                    break;
                case 2:
                case 3:
                    if (held.Count > 0)
                    {
                        var (lease, owner) = held[pick % held.Count];
                        held.RemoveAt(pick % held.Count);
                        Deliver(lease);
                        if (book.Report(lease.TaskId, lease.LeaseId, owner, true).Result == ReportResult.Accepted)
                        {
                            ended.Add((lease, owner));
                        }
                    }

                    break;
                case 4:
                    if (held.Count > 0)
                    {
                        var (lease, owner) = held[pick % held.Count];
                        held.RemoveAt(pick % held.Count);
                        faults = true;
                        book.Report(lease.TaskId, lease.LeaseId, owner, false, "injected");
                    }

                    break;
                case 5:
                    // A worker processes everything it holds and crashes: its leases expire.
                    faults |= held.Count > 0;
                    held.ForEach(h => Deliver(h.Lease));
                    ended.AddRange(held);
                    held.Clear();
                    time.Advance(Timeout + TimeSpan.FromSeconds(1));
                    book.ExpireDue();
                    break;
                case 6:
                    if (held.Count > 0)
                    {
                        var (lease, owner) = held[pick % held.Count];
                        held.RemoveAt(pick % held.Count);
                        book.Release(owner, [lease.LeaseId]);
                    }

                    break;
                case 7:
                    if (ended.Count > 0)
                    {
                        // A late or repeated report of a lease that has ended must change nothing.
                        var (lease, owner) = ended[pick % ended.Count];
                        var version = book.Version;
                        var answer = book.Report(lease.TaskId, lease.LeaseId, owner, op % 2 == 0);
                        staleChanged |= answer.Result is ReportResult.StaleLease or ReportResult.Duplicate && book.Version != version;
                    }

                    break;
            }
        }

        // Drain: the surviving workers finish what they hold, then a fresh worker takes the rest.
        foreach (var (lease, owner) in held)
        {
            Deliver(lease);
            book.Report(lease.TaskId, lease.LeaseId, owner, true);
        }

        for (var guard = 0; guard < 100_000 && !book.IsCompleted; guard++)
        {
            foreach (var lease in book.Lease("drain", 7))
            {
                Deliver(lease);
                book.Report(lease.TaskId, lease.LeaseId, "drain", true);
            }
        }

        return new Outcome(deliveries, faults, catalog.ShardCount, epochs, staleChanged, book.IsCompleted);
    }

    private static bool EveryShardOfEveryEpoch(Outcome outcome, Func<int, bool> count) =>
        outcome.Deliveries.Count == outcome.ShardCount * outcome.Epochs && outcome.Deliveries.Values.All(count);

    [Property(MaxTest = 300)]
    public bool Any_interleaving_delivers_every_shard_of_every_epoch_at_least_once(byte[] operations, PositiveInt shards, ulong seed)
    {
        var outcome = Run(operations, 1 + (shards.Get % 12), 1 + (shards.Get % 3), seed, allowFaults: true);
        return outcome.Completed && EveryShardOfEveryEpoch(outcome, n => n >= 1) && !outcome.StaleChangedSomething;
    }

    [Property(MaxTest = 300)]
    public bool Without_failures_or_expiry_every_shard_is_delivered_exactly_once(byte[] operations, PositiveInt shards, ulong seed)
    {
        var outcome = Run(operations, 1 + (shards.Get % 12), 1 + (shards.Get % 3), seed, allowFaults: false);
        return outcome.Completed && !outcome.Faults && EveryShardOfEveryEpoch(outcome, n => n == 1);
    }

    [Property(MaxTest = 100)]
    public bool The_same_seed_gives_the_same_order(ulong seed, PositiveInt shards)
    {
        static string Order(ulong seed, int shards)
        {
            var book = new TaskBook(new TaskBookState(), new TaskBookSettings(2, true, seed, Timeout, 3), new ShardCatalog([shards * 10L], 10), TimeProvider.System);
            var ids = new List<string>();
            while (!book.IsCompleted)
            {
                foreach (var lease in book.Lease("w", 3))
                {
                    ids.Add(lease.TaskId);
                    book.Report(lease.TaskId, lease.LeaseId, "w", true);
                }
            }

            return string.Join(',', ids);
        }

        var n = 1 + (shards.Get % 50);
        return Order(seed, n) == Order(seed, n);
    }
}
