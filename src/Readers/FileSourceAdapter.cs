using System.Collections.Concurrent;
using OrleansShards.Core;
using OrleansShards.Core.Sources;
using OrleansShards.Readers.Csv;

namespace OrleansShards.Readers;

/// <summary>
/// Files under the data roots: csv, jsonl, tfrecord, parquet. A file is a partition, named by its real path; every
/// open checks the path against the roots again (<see cref="DataRoots.CheckReadable"/>).
/// </summary>
public sealed class FileSourceAdapter(DataRoots roots) : ISourceAdapter
{
    private readonly ConcurrentDictionary<(string Kind, bool Header, char Delimiter, string Types), IPartitionReader> _readers = new();

    /// <inheritdoc />
    public IReadOnlyList<string> Kinds => PartitionReaders.Kinds;

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default)
    {
        try
        {
            // The walk of a glob is file system work bounded by time and entries: on the thread pool, so the caller
            // (a job grain's turn) only awaits it and its scheduler thread stays free for other grains.
            var files = await Task.Run(() => roots.ResolveFiles(source.Paths ?? [], cancellationToken), cancellationToken).ConfigureAwait(false);
            SourceSniffing.Check(source.Kind.ToLowerInvariant(), files, Display);
            return files;
        }
        catch (Exception e) when (e is PathOutsideRootsException or SourcePathException or FileNotFoundException or DirectoryNotFoundException)
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
        return _readers.GetOrAdd((kind, header, delimiter, CsvValues.Key(types)), (key, state) =>
            new RootedPartitionReader(PartitionReaders.ForKind(key.Kind, new CsvReaderOptions { Header = key.Header, Delimiter = key.Delimiter, ColumnTypes = state.Types }), state.Roots), (Types: types, Roots: roots));
    }

    /// <inheritdoc />
    public string Display(string locator) => roots.TryRelative(locator, out var relative) ? relative : locator;
}
