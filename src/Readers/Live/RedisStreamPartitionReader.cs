using System.Buffers;
using System.Text.Json;
using StackExchange.Redis;

namespace OrleansShards.Readers.Live;

/// <summary>
/// Reads the entries of a Redis stream between two ordinals as one batch; each entry is a record
/// whose columns are its fields (string values).
/// </summary>
internal sealed class RedisStreamPartitionReader(RedisStreamsSourceAdapter adapter) : IPartitionReader
{
    private const int PageSize = 1000;

    public async ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
    {
        var (connection, key) = RedisStreamsSourceAdapter.Parse(path);
        var info = await RedisStreamsSourceAdapter.InfoAsync(await adapter.DatabaseAsync(connection).ConfigureAwait(false), key).ConfigureAwait(false);
        return new PartitionDescription(path, info.EntriesAdded, new FileFingerprint(0, 0, 0), []);
    }

    public async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (connection, key) = RedisStreamsSourceAdapter.Parse(request.Path);
        var database = await adapter.DatabaseAsync(connection).ConfigureAwait(false);
        var end = request.Limit is { } limit ? Math.Min(request.End, request.Start + limit) : request.End;
        var count = (int)Math.Max(0, end - request.Start);
        string[]? columns = request.Columns is null ? null : [.. request.Columns];
        using var builder = new JsonRowBatchBuilder(count, count * 64, columns, withCells: columns is not null);
        if (count > 0)
        {
            var info = await RedisStreamsSourceAdapter.InfoAsync(database, key).ConfigureAwait(false);
            if (request.Start < info.FirstOrdinal || end > info.EntriesAdded)
            {
                throw new SourceChangedException(request.Path, $"stream '{key}' holds ordinals [{info.FirstOrdinal}, {info.EntriesAdded}) now, not all of [{request.Start}, {end}): entries were trimmed");
            }

            var (ordinal, id) = await adapter.IndexOf(request.Path).AnchorAsync(database, key, request.Start, info).ConfigureAwait(false);
            var json = new ArrayBufferWriter<byte>(256);
            RedisValue from = id;
            var skip = request.Start - ordinal;
            while (builder.Count < count)
            {
                var page = await database.StreamRangeAsync(key, from, "+", PageSize).ConfigureAwait(false);
                if (page.Length == 0)
                {
                    throw new SourceChangedException(request.Path, $"stream '{key}' ends before ordinal {request.Start + builder.Count}");
                }

                foreach (var entry in page)
                {
                    if (skip > 0)
                    {
                        skip--;
                        continue;
                    }

                    if (builder.Count == count)
                    {
                        break;
                    }

                    Add(builder, json, entry, columns);
                }

                // Exclusive start: the next page begins after the last entry of this one.
                from = "(" + page[^1].Id;
            }
        }

        return builder.Build(request.Path, columns, columns is null ? JsonRowBatch.CellKind.None : JsonRowBatch.CellKind.RawValues);
    }

    private static void Add(JsonRowBatchBuilder builder, ArrayBufferWriter<byte> json, StreamEntry entry, string[]? columns)
    {
        if (columns is null)
        {
            json.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(json))
            {
                writer.WriteStartObject();
                foreach (var field in entry.Values)
                {
                    writer.WriteString((string)field.Name!, (string?)field.Value);
                }

                writer.WriteEndObject();
            }

            builder.AddRawRecord(json.WrittenSpan);
            return;
        }

        builder.BeginRecord();
        for (var i = 0; i < columns.Length; i++)
        {
            var value = entry[columns[i]];
            if (value.IsNull)
            {
                builder.AddRawValue(i, default);
                continue;
            }

            json.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(json))
            {
                writer.WriteStringValue((string?)value);
            }

            builder.AddRawValue(i, json.WrittenSpan);
        }

        builder.EndRecord();
    }
}
