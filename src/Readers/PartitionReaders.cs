using OrleansShards.Readers.Csv;
using OrleansShards.Readers.JsonLines;
using OrleansShards.Readers.Parquet;
using OrleansShards.Readers.TfRecord;
namespace OrleansShards.Readers;

/// <summary>The file formats that a job can name, and their readers.</summary>
public static class PartitionReaders
{
    /// <summary>The kinds <see cref="ForKind"/> knows: csv, jsonl (also jsonlines and ndjson), tfrecord, parquet.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["csv", "jsonl", "tfrecord", "parquet"];

    /// <summary>
    /// Creates the reader of a file kind. A reader caches the indexes of the files it read: create one per kind and
    /// configuration and keep it.
    /// </summary>
    /// <param name="kind">"csv", "jsonl" (also "jsonlines", "ndjson"), "tfrecord" or "parquet"; case is ignored.</param>
    /// <param name="csv">The options of CSV files; <see langword="null"/> for the defaults.</param>
    /// <param name="indexStride">The stride of the sparse index of JSON Lines and TFRecord files (CSV takes it from <paramref name="csv"/>).</param>
    /// <exception cref="ArgumentException">The kind is unknown.</exception>
    public static IPartitionReader ForKind(string kind, CsvReaderOptions? csv = null, int indexStride = 1024)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return kind.Trim().ToLowerInvariant() switch
        {
            "csv" => new CsvPartitionReader(csv),
            "jsonl" or "jsonlines" or "ndjson" => new JsonLinesPartitionReader(indexStride),
            "tfrecord" => new TfRecordPartitionReader(indexStride),
            "parquet" => new ParquetPartitionReader(),
            _ => throw new ArgumentException($"unknown source kind '{kind}'; known kinds: {string.Join(", ", Kinds)}", nameof(kind)),
        };
    }
}
