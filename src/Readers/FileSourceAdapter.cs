using System.Collections.Concurrent;
using OrleansShards.Core;
using OrleansShards.Core.Sources;
using OrleansShards.Readers.Csv;

namespace OrleansShards.Readers;

/// <summary>Files under the data roots: csv, jsonl, tfrecord, parquet. A file is a partition.</summary>
public sealed class FileSourceAdapter(DataRoots roots) : ISourceAdapter
{
    private readonly ConcurrentDictionary<(string Kind, bool Header, char Delimiter, string Types), IPartitionReader> _readers = new();

    /// <inheritdoc />
    public IReadOnlyList<string> Kinds => PartitionReaders.Kinds;

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default)
    {
        try
        {
            return ValueTask.FromResult(roots.ResolveFiles(source.Paths ?? []));
        }
        catch (Exception e) when (e is PathOutsideRootsException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SourceSpecException("source.paths", e.Message);
        }
    }

    /// <inheritdoc />
    public IPartitionReader ReaderFor(SourceSpec source)
    {
        var kind = source.Kind.ToLowerInvariant();
        var (_, header, delimiter, columnTypes) = SourceKinds.Read<FileSourceSpec>(source);
        var types = columnTypes?.ToDictionary(c => c.Key, c => CsvValues.Names[c.Value], StringComparer.Ordinal);
        return _readers.GetOrAdd((kind, header, delimiter, CsvValues.Key(types)), (key, types) =>
            PartitionReaders.ForKind(key.Kind, new CsvReaderOptions { Header = key.Header, Delimiter = key.Delimiter, ColumnTypes = types }), types);
    }

    /// <inheritdoc />
    public string Display(string locator)
    {
        var relative = System.IO.Path.GetRelativePath(roots.DataDirectory, locator);
        return relative.StartsWith("..", StringComparison.Ordinal) || System.IO.Path.IsPathRooted(relative) ? locator : relative;
    }
}
