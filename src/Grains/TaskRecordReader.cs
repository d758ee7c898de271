using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Grains;

/// <summary>One page of the records of a task, ready to be written out.</summary>
public sealed class RecordPage : IDisposable
{
    private readonly RecordBatch _batch;
    private readonly SeededPermutation? _order;
    private readonly long _offset;

    internal RecordPage(RecordBatch batch, SeededPermutation? order, long offset, int count, long? nextOffset)
    {
        _batch = batch;
        _order = order;
        _offset = offset;
        Count = count;
        NextOffset = nextOffset;
    }

    /// <summary>Records in the page.</summary>
    public int Count { get; }

    /// <summary>The offset of the next page within the shard, when records remain.</summary>
    public long? NextOffset { get; }

    /// <summary>Writes the records as a JSON array.</summary>
    public void WriteRecords(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        for (var i = 0; i < Count; i++)
        {
            // A shuffled shard is read whole; the page is a window of its seeded order.
            var row = _order is { } order ? (int)order.At(_offset + i) : i;
            _batch.WriteRecord(writer, row);
        }

        writer.WriteEndArray();
    }

    /// <summary>Writes <c>{"records": [...], "nextOffset": n}</c> (HTTP-API.md).</summary>
    public void WriteDocument(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("records"u8);
        WriteRecords(writer);
        if (NextOffset is { } next)
        {
            writer.WriteNumber("nextOffset"u8, next);
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes the page as an Arrow IPC stream (<see cref="ArrowRecords.MediaType"/>): the schema, one record batch of
    /// the page's records in page order, the end of stream. Columns are typed by <see cref="RecordBatch.ToArrow"/>;
    /// the schema metadata holds <c>nextOffset</c> (as decimal text) when records of the shard remain.
    /// </summary>
    /// <param name="stream">The stream to write to (left open); only asynchronous writes are used.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    public async Task WriteArrowAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var rows = new int[Count];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = _order is { } order ? (int)order.At(_offset + i) : i;
        }

        using var arrow = _batch.ToArrow(rows);
        KeyValuePair<string, string>[] metadata = NextOffset is { } next
            ? [new(ArrowRecords.NextOffsetKey, next.ToString(System.Globalization.CultureInfo.InvariantCulture))]
            : [];
        await ArrowRecords.WriteStreamAsync(stream, arrow, metadata, cancellationToken);
    }

    /// <summary>The text of <paramref name="column"/> in record <paramref name="index"/> of the page.</summary>
    public string? GetText(int index, string column) => _batch.GetText(_order is { } order ? (int)order.At(_offset + index) : index, column);

    /// <inheritdoc />
    public void Dispose() => _batch.Dispose();
}

/// <summary>
/// Reads the records of a task of a job, page by page, outside the job grain: the grain only
/// hands out the read plan, so reading never queues behind leases and reports.
/// </summary>
public sealed class TaskRecordReader(SourceReaders readers, IOptions<ShardsOptions> options)
{
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
            return await ReadPageAsync(reader, plan, file.Path, expected, epoch, shard, shardIndex, offset, count, next, columns, cancellationToken);
        }
        catch (ArgumentException e) when (columns is not null && e is not ArgumentOutOfRangeException)
        {
            // The readers refuse a projection naming a column the file does not have.
            throw new ShardsException(ShardsErrorKind.Invalid, "columns", e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
        }
    }

    private static async ValueTask<RecordPage> ReadPageAsync(
        IPartitionReader reader, JobReadPlan plan, string path, FileFingerprint expected, int epoch, ShardRange shard, long shardIndex,
        long offset, int count, long? next, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        if (!plan.Shuffle)
        {
            var batch = await reader.ReadAsync(new ShardReadRequest(path, expected, shard.Start + offset, shard.Start + offset + count, columns), cancellationToken);
            return new RecordPage(batch, null, 0, Math.Min(count, batch.Count), next);
        }

        var whole = await reader.ReadAsync(new ShardReadRequest(path, expected, shard.Start, shard.End, columns), cancellationToken);
        var order = new SeededPermutation(shard.Length, DeterministicHash.Mix(unchecked((ulong)plan.Seed), (ulong)epoch, (ulong)shardIndex));
        return new RecordPage(whole, order, offset, count, next);
    }
}
