using System.Buffers;
using System.Text.Json;

namespace OrleansShards.Readers.Bench;

/// <summary>The rows every format's benchmark shares: a raw sequential read, and our reader over a whole file.</summary>
internal static class Shared
{
    /// <summary>Reads the file's bytes with a 1 MiB buffer: the ceiling.</summary>
    public static long RawRead(string path)
    {
        var buffer = new byte[1 << 20];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long total = 0;
        int n;
        while ((n = fs.Read(buffer, 0, buffer.Length)) > 0)
        {
            total += n;
        }

        return total;
    }

    /// <summary>Reads the whole file as shards of <paramref name="shard"/> records, writing every record as JSON when <paramref name="write"/>.</summary>
    public static async Task<long> ReadShardsAsync(IPartitionReader reader, PartitionDescription description, int shard, bool write, IReadOnlyList<string>? columns = null, int bufferBytes = 1 << 22)
    {
        var output = new ArrayBufferWriter<byte>(bufferBytes);
        await using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        long sum = 0;
        for (long s = 0; s < description.RecordCount; s += shard)
        {
            using var batch = await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, s, Math.Min(description.RecordCount, s + shard), columns));
            sum += batch.Count;
            if (write)
            {
                output.ResetWrittenCount();
                writer.Reset(output);
                writer.WriteStartArray();
                for (var r = 0; r < batch.Count; r++)
                {
                    batch.WriteRecord(writer, r);
                }

                writer.WriteEndArray();
                writer.Flush();
                sum += output.WrittenCount;
            }
        }

        return sum;
    }
}
