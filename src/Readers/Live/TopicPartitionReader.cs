using OrleansShards.Core;
using OrleansShards.Readers.JsonLines;

namespace OrleansShards.Readers.Live;

/// <summary>Reads a range of offsets of a topic partition as one batch of JSON records.</summary>
public sealed class TopicPartitionReader(ILogStore store) : IPartitionReader
{
    private const int PageSize = 4096;

    /// <inheritdoc />
    public async ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
    {
        var (topic, partition) = TopicSourceAdapter.Parse(path);
        var bounds = await store.GetBoundsAsync(topic, partition, cancellationToken).ConfigureAwait(false);
        return new PartitionDescription(path, bounds.HighWatermark, new FileFingerprint(0, 0, 0), []);
    }

    /// <inheritdoc />
    public async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (topic, partition) = TopicSourceAdapter.Parse(request.Path);
        var end = request.Limit is { } limit ? Math.Min(request.End, request.Start + limit) : request.End;
        var count = (int)Math.Max(0, end - request.Start);
        string[]? columns = request.Columns is null ? null : [.. request.Columns];
        byte[][]? names = columns?.Select(c => System.Text.Encoding.UTF8.GetBytes(c)).ToArray();
        using var builder = new JsonRowBatchBuilder(count, count * 64, columns, withCells: columns is not null);
        var found = columns is null ? [] : new int[columns.Length * 2];
        var next = request.Start;
        var budget = request.MaxBytes ?? long.MaxValue;
        long bytes = 0;
        while (next < end)
        {
            var read = await store.ReadAsync(topic, partition, next, (int)Math.Min(PageSize, end - next), Math.Max(1, budget - bytes), cancellationToken).ConfigureAwait(false);
            if (read.Records.Count == 0)
            {
                throw new SourceChangedException(request.Path, $"the partition ends at offset {read.Bounds.HighWatermark}, before offset {next} of the shard [{request.Start}, {request.End})");
            }

            foreach (var record in read.Records)
            {
                if (record.Offset >= end || (bytes > 0 && bytes + record.Value.Length > budget))
                {
                    // Past the range, or past the page's byte budget (the caller reads on from here).
                    end = Math.Min(end, record.Offset);
                    break;
                }

                bytes += record.Value.Length;
                var json = record.Value.Span;
                if (columns is null)
                {
                    JsonLinesPartitionReader.Validate(request.Path, record.Offset, record.Offset, json, null, default);
                    builder.AddRawRecord(json);
                }
                else
                {
                    found.AsSpan().Fill(-1);
                    JsonLinesPartitionReader.Validate(request.Path, record.Offset, record.Offset, json, names, found);
                    builder.BeginRecord();
                    for (var i = 0; i < columns.Length; i++)
                    {
                        var s = found[2 * i];
                        builder.AddRawValue(i, s < 0 ? default : json[s..found[2 * i + 1]]);
                    }

                    builder.EndRecord();
                }

                next = record.Offset + 1;
            }
        }

        return builder.Build(request.Path, columns, columns is null ? JsonRowBatch.CellKind.None : JsonRowBatch.CellKind.RawValues);
    }
}
