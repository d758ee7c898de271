using System.Globalization;

namespace OrleansShards.Core;

/// <summary>
/// Checkpoints of live jobs: the splitter state (committed offset and offset split up to per
/// partition), the shards cut and not yet committed, the leases in flight and the dead letters.
/// A restore re-queues what was in flight and checks that every partition's uncommitted range is
/// tiled exactly once by fresh, re-queued, in-flight and done-ahead shards. Pure: no I/O.
/// </summary>
public static class LiveCheckpoints
{
    /// <summary>The checkpoint of a live job.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="spec">The job's normalised spec.</param>
    /// <param name="createdAt">When the job was created.</param>
    /// <param name="lifecycle"><c>running</c>, <c>paused</c> or <c>cancelled</c>.</param>
    /// <param name="paths">Each partition as users name it.</param>
    /// <param name="book">The live task book state.</param>
    /// <param name="exportedAt">The time of the checkpoint.</param>
    public static CheckpointDocument Export(string jobId, JobSpec spec, DateTimeOffset createdAt, string lifecycle, IReadOnlyList<string> paths, LiveBookState book, DateTimeOffset exportedAt)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(book);
        static List<CheckpointRange> Ranges(IEnumerable<OffsetRange> ranges) => [.. ranges.Select(r => new CheckpointRange { Start = r.Start, End = r.End })];
        return new CheckpointDocument
        {
            Format = Checkpoints.Format,
            Version = Checkpoints.Version,
            ExportedAt = exportedAt,
            JobId = jobId,
            CreatedAt = createdAt,
            Lifecycle = lifecycle,
            Spec = Checkpoints.ToCheckpointSpec(spec),
            Shards = book.ShardsCut,
            NextLeaseSequence = book.NextLeaseSequence,
            Doing = [.. book.InFlight.Values.OrderBy(l => l.LeaseId, StringComparer.Ordinal).Select(l => new CheckpointLease
            {
                TaskId = TaskIds.Format(0, l.Shard),
                LeaseId = l.LeaseId,
                WorkerId = l.WorkerId,
                Attempt = l.Attempt,
                ExpiresAt = l.ExpiresAt,
            })],
            Done = new CheckpointDone
            {
                Shards = book.ShardsDone,
                TotalShards = book.ShardsDone,
                TotalRecords = book.RecordsDelivered,
                Epochs = [new CheckpointEpoch { Epoch = 0, ShardsDone = book.ShardsDone, RecordsDelivered = book.RecordsDelivered, LeasesExpired = book.Expired, AttemptsFailed = book.Failed }],
            },
            Retries = [.. book.Retries.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => new CheckpointRetry
            {
                TaskId = RetryTaskOf(book, r.Key),
                FailedAttempts = r.Value.FailedAttempts,
                Leases = r.Value.Leases,
                LastError = r.Value.LastError,
            }).Where(r => r.TaskId is not null)],
            DeadLetters = [.. book.DeadLetters.Select(d => new CheckpointDeadLetter { TaskId = TaskIds.Format(0, d.Range), Attempts = d.Attempts, LastError = d.LastError })],
            Splitters = [.. book.Partitions.Select((p, i) => new CheckpointSplitter { Partition = i, Path = paths[i], SplitUpTo = p.SplitUpTo, Acknowledged = true })],
            Live = [.. book.Partitions.Select((p, i) => new CheckpointLivePartition
            {
                Partition = i,
                Path = paths[i],
                Committed = p.Committed,
                SplitUpTo = p.SplitUpTo,
                Fresh = Ranges(p.Fresh),
                Requeued = Ranges(p.Requeued),
                DoneAhead = Ranges(p.DoneAhead),
            })],
        };
    }

    /// <summary>
    /// The spec and the live task book of <paramref name="document"/>, with the leases that were in
    /// flight re-queued.
    /// </summary>
    /// <exception cref="CheckpointException">The document does not hold together; names the place.</exception>
    public static (JobSpec Spec, LiveBookState Book) Restore(CheckpointDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        Checkpoints.CheckHeader(document.Format, document.Version);
        if (document.Lifecycle is not ("running" or "paused" or "cancelled"))
        {
            throw new CheckpointException("lifecycle", $"lifecycle '{document.Lifecycle}' is none of running, paused, cancelled");
        }

        var spec = Checkpoints.ToJobSpec(document.Spec ?? throw new CheckpointException("spec", "spec is required")).Normalize();
        if (spec.Validate() is { } problem)
        {
            throw new CheckpointException("spec." + problem.Field, $"spec.{problem.Field} {problem.Reason}");
        }

        if (!spec.IsLive)
        {
            throw new CheckpointException("spec.source.kind", $"source kind '{spec.Source?.Kind}' is not live: this document is not a live job's");
        }

        var partitions = document.Live ?? throw new CheckpointException("live", "live is required: the partitions of a live job");
        var book = new LiveBookState { NextLeaseSequence = Math.Max(0, document.NextLeaseSequence) };
        for (var i = 0; i < partitions.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"live[{i}]");
            var partition = partitions[i] ?? throw new CheckpointException(field, $"{field} is null");
            if (partition.Partition != i)
            {
                throw new CheckpointException(field + ".partition", $"{field}.partition is {partition.Partition}; partitions are listed in order from 0");
            }

            if (partition.Committed < 0 || partition.SplitUpTo < partition.Committed)
            {
                throw new CheckpointException(field, $"{field}: committed {partition.Committed} and splitUpTo {partition.SplitUpTo} must satisfy 0 <= committed <= splitUpTo");
            }

            book.Partitions.Add(new LivePartitionState
            {
                Committed = partition.Committed,
                SplitUpTo = partition.SplitUpTo,
                Fresh = Ranges(partition.Fresh, field + ".fresh"),
                Requeued = Ranges(partition.Requeued, field + ".requeued"),
                DoneAhead = Ranges(partition.DoneAhead, field + ".doneAhead"),
            });
        }

        var doing = document.Doing ?? [];
        for (var i = 0; i < doing.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"doing[{i}]");
            if (doing[i] is null)
            {
                throw new CheckpointException(field, $"{field} is null");
            }

            if (!TaskIds.TryParse(doing[i].TaskId, out var epoch, out var shard) || epoch != 0 || shard.Partition < 0 || shard.Partition >= book.Partitions.Count)
            {
                throw new CheckpointException(field + ".taskId", $"{field}.taskId '{doing[i].TaskId}' is not a task of a live job's partitions");
            }

            // What was in flight is leased again: its worker is gone with the old cluster.
            InsertSorted(book.Partitions[shard.Partition].Requeued, new OffsetRange(shard.Start, shard.End));
        }

        for (var p = 0; p < book.Partitions.Count; p++)
        {
            CheckTiling(book.Partitions[p], spec.ShardSize, string.Create(CultureInfo.InvariantCulture, $"live[{p}]"));
            book.ShardsCut += book.Partitions[p].Fresh.Sum(r => (r.Length + spec.ShardSize - 1) / spec.ShardSize) + book.Partitions[p].Requeued.Count;
        }

        if (document.Done is { } done && (done.Shards < 0 || done.TotalShards < 0 || done.TotalRecords < 0))
        {
            throw new CheckpointException("done", "done.shards, done.totalShards and done.totalRecords must not be negative");
        }

        var retries = document.Retries ?? [];
        for (var i = 0; i < retries.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"retries[{i}]");
            if (retries[i] is not { } retry)
            {
                throw new CheckpointException(field, $"{field} is null");
            }

            if (retry.FailedAttempts < 0 || retry.Leases < 0)
            {
                throw new CheckpointException(field, $"{field}: failedAttempts and leases must not be negative");
            }
        }

        var deadLetters = document.DeadLetters ?? [];
        for (var i = 0; i < deadLetters.Count; i++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"deadLetters[{i}]");
            if (deadLetters[i] is not { } dead)
            {
                throw new CheckpointException(field, $"{field} is null");
            }

            if (dead.Attempts < 0 || !TaskIds.TryParse(dead.TaskId, out _, out var deadShard) || deadShard.Partition < 0 || deadShard.Partition >= book.Partitions.Count)
            {
                throw new CheckpointException(field, $"{field}: taskId '{dead.TaskId}' is not a task of a live job's partitions, or attempts is negative");
            }
        }

        // Done-ahead shards are done or dead-lettered: they are counted there.
        book.ShardsCut += (document.Done?.Shards ?? 0) + (document.DeadLetters?.Count ?? 0);
        book.ShardsDone = document.Done?.Shards ?? 0;
        book.RecordsDelivered = document.Done?.TotalRecords ?? 0;
        foreach (var retry in document.Retries ?? [])
        {
            if (TaskIds.TryParse(retry.TaskId, out _, out var shard) && shard.Partition >= 0 && shard.Partition < book.Partitions.Count)
            {
                book.Retries[LiveTaskBook.ShardKey(shard)] = new RetryRecord { Shard = shard.Start, FailedAttempts = retry.FailedAttempts, Leases = retry.Leases, LastError = retry.LastError is null ? null : TaskErrors.Truncate(retry.LastError) };
            }
        }

        foreach (var dead in document.DeadLetters ?? [])
        {
            if (TaskIds.TryParse(dead.TaskId, out _, out var shard))
            {
                book.DeadLetters.Add(new DeadLetter { Shard = shard.Start, Range = shard, Attempts = dead.Attempts, LastError = TaskErrors.Truncate(dead.LastError ?? "") });
            }
        }

        return (spec, book);
    }

    private static string? RetryTaskOf(LiveBookState book, string key)
    {
        // Retries are kept only for shards not committed yet: the shard is in flight or waits to be leased again.
        var lease = book.InFlight.Values.FirstOrDefault(l => LiveTaskBook.ShardKey(l.Shard) == key);
        if (lease is not null)
        {
            return TaskIds.Format(0, lease.Shard);
        }

        var colon = key.IndexOf(':', StringComparison.Ordinal);
        var partition = int.Parse(key.AsSpan(0, colon), CultureInfo.InvariantCulture);
        var start = long.Parse(key.AsSpan(colon + 1), CultureInfo.InvariantCulture);
        return partition < book.Partitions.Count && book.Partitions[partition].Requeued.FirstOrDefault(r => r.Start == start) is { Length: > 0 } range
            ? TaskIds.Format(0, new ShardRange(partition, range.Start, range.End))
            : null;
    }

    private static List<OffsetRange> Ranges(IReadOnlyList<CheckpointRange>? ranges, string field)
    {
        var list = new List<OffsetRange>();
        for (var i = 0; i < (ranges?.Count ?? 0); i++)
        {
            var range = ranges![i] ?? throw new CheckpointException(string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]"), $"{field}[{i}] is null");
            if (range.End <= range.Start || range.Start < 0)
            {
                throw new CheckpointException(string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]"), $"{field}[{i}] [{range.Start}, {range.End}) is not a range of offsets");
            }

            InsertSorted(list, new OffsetRange(range.Start, range.End));
        }

        return list;
    }

    private static void CheckTiling(LivePartitionState partition, long shardSize, string field)
    {
        var all = partition.Fresh.Concat(partition.Requeued).Concat(partition.DoneAhead).OrderBy(r => r.Start).ToList();
        var expected = partition.Committed;
        foreach (var range in all)
        {
            if (range.Start != expected)
            {
                throw new CheckpointException(field, string.Create(CultureInfo.InvariantCulture,
                    $"{field}: offsets [{Math.Min(expected, range.Start)}, {Math.Max(expected, range.Start)}) are {(range.Start > expected ? "in no shard" : "in two shards")}; the shards above committed {partition.Committed} must tile [committed, splitUpTo) once"));
            }

            expected = range.End;
        }

        if (expected != partition.SplitUpTo)
        {
            throw new CheckpointException(field, string.Create(CultureInfo.InvariantCulture, $"{field}: the shards end at {expected}, not at splitUpTo {partition.SplitUpTo}"));
        }

        if (partition.Requeued.Concat(partition.DoneAhead).Any(r => r.Length > shardSize))
        {
            throw new CheckpointException(field, $"{field}: a re-queued or done shard is longer than the shard size {shardSize}");
        }
    }

    private static void InsertSorted(List<OffsetRange> ranges, OffsetRange range)
    {
        var index = ranges.Count;
        while (index > 0 && ranges[index - 1].Start > range.Start)
        {
            index--;
        }

        ranges.Insert(index, range);
    }
}
