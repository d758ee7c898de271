using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// Reads the records of a task of a job, page by page, outside the job grain: the grain only
/// hands out the read plan, so reading never queues behind leases and reports.
/// </summary>
/// <remarks>
/// A shuffled shard's page is a window of the shard's seeded order, spread over the whole shard: the page that is the
/// whole shard reads it once; a page whose records lie in a small part of the shard (<c>?limit=1</c>) reads that part
/// only; other pages read the whole shard through <see cref="ShardBatchCache"/>, so a shard read page by page is read
/// once while it stays in the cache's budget.
/// </remarks>
public sealed class TaskRecordReader(SourceReaders readers, IOptions<ShardsOptions> options, ShardBatchCache? shards = null)
{
    private readonly ShardBatchCache _shards = shards ?? new ShardBatchCache(options.Value.ShardCacheBytes, options.Value.ShardCacheIdle, TimeProvider.System);

    /// <summary>Reads the page <c>[offset, offset + limit)</c> of <paramref name="taskId"/>.</summary>
    /// <exception cref="ShardsException">Unknown task (not found) or a bad offset or limit (invalid).</exception>
    /// <exception cref="SourceChangedException">The file changed since the job was created.</exception>
    /// <exception cref="MalformedRecordException">A record of the page cannot be parsed.</exception>
    public async ValueTask<RecordPage> ReadAsync(JobReadPlan plan, string taskId, long offset, int? limit, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        if (!TaskIds.TryParse(taskId, out var epoch, out var shard) || epoch > plan.CurrentEpoch || epoch >= plan.Epochs)
        {
            throw new ShardsException(ShardsErrorKind.NotFound, "taskId", $"task '{taskId}' is not a task of this job");
        }

        long shardIndex;
        if (plan.Live)
        {
            // A live job's shards are cut as records arrive: any range of a partition up to its
            // offset split up to, no longer than a shard, names one (the job checks the lease).
            shardIndex = shard.Partition;
            if (shard.Partition < 0 || shard.Partition >= plan.Files.Count || shard.Length < 1 || shard.Length > plan.ShardSize || shard.End > plan.Files[shard.Partition].RecordCount)
            {
                throw new ShardsException(ShardsErrorKind.NotFound, "taskId", $"task '{taskId}' is not a shard this job has cut");
            }
        }
        else
        {
            var catalog = new ShardCatalog(plan.Files.Select(f => f.RecordCount).ToArray(), plan.ShardSize);
            shardIndex = catalog.IndexOf(shard);
            if (shardIndex < 0)
            {
                throw new ShardsException(ShardsErrorKind.NotFound, "taskId", $"task '{taskId}' is not a shard of this job");
            }
        }

        if (offset < 0 || offset > shard.Length)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "offset", $"must be between 0 and {shard.Length}, the records of task '{taskId}'");
        }

        var pageSize = limit ?? options.Value.DefaultPageSize;
        if (pageSize < 1 || pageSize > options.Value.MaxPageSize)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "limit", $"must be between 1 and {options.Value.MaxPageSize}");
        }

        var count = (int)Math.Min(pageSize, shard.Length - offset);
        long? next = offset + count < shard.Length ? offset + count : null;
        var file = plan.Files[shard.Partition];
        var expected = new FileFingerprint(file.Length, file.LastWriteTimeUtcTicks, file.ContentHash);
        var reader = readers.For(plan.Source);
        try
        {
            return await ReadPageAsync(reader, plan, file, expected, epoch, shard, shardIndex, offset, count, next, columns, cancellationToken);
        }
        catch (ArgumentException e) when (columns is not null && e is not ArgumentOutOfRangeException)
        {
            // The readers refuse a projection naming a column the file does not have.
            throw new ShardsException(ShardsErrorKind.Invalid, "columns", e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
        }
    }

    private async ValueTask<RecordPage> ReadPageAsync(
        IPartitionReader reader, JobReadPlan plan, PinnedFile file, FileFingerprint expected, int epoch, ShardRange shard, long shardIndex,
        long offset, int count, long? next, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        if (!plan.Shuffle)
        {
            var batch = await reader.ReadAsync(new ShardReadRequest(file.Path, expected, shard.Start + offset, shard.Start + offset + count, columns, MaxBytes: options.Value.Reads.TopicPageMaxBytes), cancellationToken);
            // A reader that stopped at the byte budget returned fewer records: the next page starts after them.
            return new RecordPage(batch, null, Math.Min(count, batch.Count), batch.Count < count && batch.Count > 0 ? offset + batch.Count : next);
        }

        var order = SeededPermutation.WithinShard(shard.Length, unchecked((ulong)plan.Seed), epoch, shardIndex);
        var rows = new int[count];
        int first = int.MaxValue, last = -1;
        for (var i = 0; i < rows.Length; i++)
        {
            var row = (int)order.At(offset + i);
            rows[i] = row;
            first = Math.Min(first, row);
            last = Math.Max(last, row);
        }

        var whole = new ShardReadRequest(file.Path, expected, shard.Start, shard.End, columns);
        if (count == shard.Length || count == 0)
        {
            // The page is the whole shard: one read, nothing to share with other pages. (An empty page, at the end of
            // the shard, reads it too, as it always did: the same checks of the file and the columns, the same schema.)
            return new RecordPage(await reader.ReadAsync(whole, cancellationToken), rows, count, next);
        }

        var span = last - first + 1L;
        if (span * 2 <= shard.Length)
        {
            // The page's records lie in a small part of the shard (a small page): read that part only.
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] -= first;
            }

            var part = await reader.ReadAsync(new ShardReadRequest(file.Path, expected, shard.Start + first, shard.Start + last + 1, columns), cancellationToken);
            return new RecordPage(part, rows, count, next);
        }

        var cached = await _shards.ReadAsync(reader, whole, EstimateBytes(file, shard.Length), cancellationToken);
        return new RecordPage(cached, rows, count, next);
    }

    /// <summary>
    /// What a shard holds in memory, from its share of the file's bytes (a batch keeps the bytes read and the place of
    /// each value: about twice them); a source without a byte length (tables, live partitions) counts 256 bytes a record.
    /// </summary>
    private static long EstimateBytes(PinnedFile file, long records) =>
        file.Length > 0 && file.RecordCount > 0 ? 2 * (long)((double)file.Length * records / file.RecordCount) : records * 256;
}
