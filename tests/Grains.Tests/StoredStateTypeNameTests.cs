using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests;

/// <summary>
/// The grain storage serializer (Orleans' binary serializer) writes a type name only where a field's runtime type
/// differs from its declared one. The stored states must hold no name of ours, neither a full type name nor an
/// [Alias]: then renaming a type or adding or changing an alias cannot change how stored state loads.
/// </summary>
public sealed class StoredStateTypeNameTests
{
    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    [Fact]
    public void A_static_job_state_holds_no_type_name_of_ours()
    {
        var book = new TaskBookState { Epoch = 1, Cursor = 3, NextLeaseSequence = 9 };
        book.InFlight.Add("L7", new LeaseRecord { LeaseId = "L7", Shard = 2, Epoch = 1, Attempt = 2, WorkerId = "w1", ExpiresAt = DateTimeOffset.UnixEpoch, RequestId = "r1" });
        book.Requeued.Add(1);
        book.Retries.Add(RetryRecord.KeyOf(1, 2), new RetryRecord { Epoch = 1, Shard = 2, FailedAttempts = 1, Leases = 2, LastError = "boom" });
        book.DeadLetters.Add(new DeadLetter { Epoch = 0, Shard = 0, Range = new ShardRange(0, 0, 10), Attempts = 3, LastError = "gone" });
        book.Epochs.Add(new EpochCounters { Epoch = 1, ShardsDone = 2, RecordsDelivered = 20 });
        var state = new JobState
        {
            Spec = new JobSpec { Id = "job", Source = new SourceSpec { Kind = "csv", Paths = new List<string> { "part-*.csv" } }, Epochs = 2 },
            CreatedAt = DateTimeOffset.UnixEpoch,
            Paths = ["/data/part-0.csv"],
            Files = [new PinnedFile("/data/part-0.csv", 10, 100, 5, 7)],
            Book = book,
        };

        AssertNoNameOfOurs(state);
    }

    [Fact]
    public void A_live_job_state_and_a_splitter_state_hold_no_type_name_of_ours()
    {
        var live = new LiveBookState { NextLeaseSequence = 4, ShardsCut = 3 };
        live.Partitions.Add(new LivePartitionState { Committed = 10, SplitUpTo = 30, Fresh = [new OffsetRange(20, 30)], Requeued = [new OffsetRange(10, 20)] });
        live.InFlight.Add("L3", new LiveLease { LeaseId = "L3", Shard = new ShardRange(0, 10, 20), Attempt = 1, WorkerId = "w", ExpiresAt = DateTimeOffset.UnixEpoch });
        live.RecentCompletions.Add("0:0=L1");
        AssertNoNameOfOurs(new JobState { Spec = new JobSpec { Source = new SourceSpec { Kind = "topic", Topic = "t" } }, Paths = ["t/0"], Live = live });

        var assignment = new SplitterAssignment("job", 0, "t/0", new SourceSpec { Kind = "topic", Topic = "t" });
        AssertNoNameOfOurs(new SplitterState { Partition = 0, SplitUpTo = 30, Live = new LiveSplitterAssignment { Assignment = assignment, ShardSize = 10, MaxWaitMs = 100 } });
        AssertNoNameOfOurs(new JobRegistryState { JobIds = new SortedSet<string>(StringComparer.Ordinal) { "a", "b" } });
    }

    private static void AssertNoNameOfOurs<T>(T state)
    {
        var bytes = Serializer.SerializeToArray(state);
        var text = Encoding.UTF8.GetString(bytes);
        Assert.DoesNotContain("OrleansShards", text, StringComparison.Ordinal);
        Assert.DoesNotContain("shards.", text, StringComparison.Ordinal);
        // The bytes load back (the test would prove nothing if the state did not serialise at all).
        Assert.Equal(bytes, Serializer.SerializeToArray(Serializer.Deserialize<T>(bytes)));
    }
}
