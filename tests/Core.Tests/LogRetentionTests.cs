using FsCheck;
using FsCheck.Xunit;

namespace OrleansShards.Core.Tests;

public sealed class LogRetentionTests
{
    [Fact]
    public void Unlimited_retention_removes_nothing()
    {
        Assert.Equal(5, LogRetention.Unlimited.TruncatePoint(new PartitionBounds(5, 1000), ageOffset: null, lowestCommittedOffset: null));
        Assert.Null(LogRetention.Unlimited.AgeCutoff(DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void The_count_limit_keeps_the_newest_records()
    {
        var retention = new LogRetention(100, null);
        Assert.Equal(900, retention.TruncatePoint(new PartitionBounds(0, 1000), null, null));
        Assert.Equal(0, retention.TruncatePoint(new PartitionBounds(0, 60), null, null));
        Assert.Equal(950, retention.TruncatePoint(new PartitionBounds(950, 1000), null, null));
    }

    [Fact]
    public void The_age_limit_cuts_at_the_offset_found_for_the_cutoff()
    {
        var retention = new LogRetention(null, TimeSpan.FromHours(2));
        var now = new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddHours(-2), retention.AgeCutoff(now));
        Assert.Equal(420, retention.TruncatePoint(new PartitionBounds(10, 1000), ageOffset: 420, lowestCommittedOffset: null));
        Assert.Equal(1000, retention.TruncatePoint(new PartitionBounds(10, 1000), ageOffset: 1000, lowestCommittedOffset: null));
    }

    [Fact]
    public void The_stricter_limit_wins()
    {
        var retention = new LogRetention(100, TimeSpan.FromDays(1));
        Assert.Equal(900, retention.TruncatePoint(new PartitionBounds(0, 1000), ageOffset: 300, lowestCommittedOffset: null));
        Assert.Equal(950, retention.TruncatePoint(new PartitionBounds(0, 1000), ageOffset: 950, lowestCommittedOffset: null));
    }

    [Fact]
    public void Records_a_running_job_has_not_committed_are_kept()
    {
        var retention = new LogRetention(100, TimeSpan.FromMinutes(1));
        Assert.Equal(250, retention.TruncatePoint(new PartitionBounds(0, 1000), ageOffset: 1000, lowestCommittedOffset: 250));
        Assert.Equal(900, retention.TruncatePoint(new PartitionBounds(0, 1000), ageOffset: null, lowestCommittedOffset: 990));

        // A job behind what was already removed cannot bring records back: nothing more is removed.
        Assert.Equal(500, retention.TruncatePoint(new PartitionBounds(500, 1000), ageOffset: 1000, lowestCommittedOffset: 100));
    }

    [Fact]
    public void Limits_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogRetention(0, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogRetention(null, TimeSpan.Zero));
    }

    [Property(MaxTest = 500)]
    public bool The_truncate_point_stays_within_the_bounds_and_never_passes_a_commit(
        NonNegativeInt first, NonNegativeInt length, PositiveInt maxRecords, NonNegativeInt age, NonNegativeInt committed, bool hasAge, bool hasCommitted)
    {
        var bounds = new PartitionBounds(first.Get, (long)first.Get + length.Get);
        long? ageOffset = hasAge ? Math.Min(bounds.HighWatermark, age.Get) : null;
        long? commit = hasCommitted ? committed.Get : null;
        var point = new LogRetention(maxRecords.Get, hasAge ? TimeSpan.FromHours(1) : null).TruncatePoint(bounds, ageOffset, commit);
        var kept = bounds.HighWatermark - point;
        var heldByCommit = commit is { } c && c < bounds.HighWatermark;
        return point >= bounds.FirstRetained
                && point <= bounds.HighWatermark
                && (commit is null || point <= Math.Max(commit.Value, bounds.FirstRetained))
                && (commit is { } a && a < bounds.HighWatermark - maxRecords.Get || kept <= maxRecords.Get)
                && (ageOffset is null || heldByCommit && commit < ageOffset || point >= ageOffset);
    }
}
