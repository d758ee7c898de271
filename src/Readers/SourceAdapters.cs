using System.Collections.Concurrent;
using OrleansShards.Core;
using OrleansShards.Core.Sources;
using OrleansShards.Readers.Csv;

namespace OrleansShards.Readers;

/// <summary>
/// A kind of source: turns a job's <see cref="SourceSpec"/> into partitions (each named by a
/// locator: a file path, a table, a group of objects) and reads them through an
/// <see cref="IPartitionReader"/> whose <see cref="ShardReadRequest.Path"/> is that locator.
/// </summary>
public interface ISourceAdapter
{
    /// <summary>The source kinds this adapter reads (lower case).</summary>
    IReadOnlyList<string> Kinds { get; }

    /// <summary>The partitions of <paramref name="source"/>, in partition order.</summary>
    /// <exception cref="SourceSpecException">The spec names something that does not exist or may not be read.</exception>
    ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default);

    /// <summary>The reader of <paramref name="source"/>'s partitions; one instance per distinct configuration, kept and reused.</summary>
    IPartitionReader ReaderFor(SourceSpec source);

    /// <summary>A locator as users name it (a path relative to the data directory, a table name, ...).</summary>
    string Display(string locator);
}

/// <summary>A source spec that names something that does not exist or may not be read; names the field at fault.</summary>
public sealed class SourceSpecException(string field, string message) : ArgumentException(message)
{
    /// <summary>The field of the spec at fault, as in the API (for example <c>source.paths</c>).</summary>
    public string Field { get; } = field;
}

/// <summary>Files under the data roots: csv, jsonl, tfrecord, parquet. A file is a partition.</summary>
public sealed class FileSourceAdapter(DataRoots roots) : ISourceAdapter
{
    private readonly ConcurrentDictionary<(string Kind, bool Header, char Delimiter), IPartitionReader> _readers = new();

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
        var (_, header, delimiter) = SourceKinds.Read<FileSourceSpec>(source);
        return _readers.GetOrAdd((kind, header, delimiter), static key =>
            PartitionReaders.ForKind(key.Kind, new CsvReaderOptions { Header = key.Header, Delimiter = key.Delimiter }));
    }

    /// <inheritdoc />
    public string Display(string locator)
    {
        var relative = System.IO.Path.GetRelativePath(roots.DataDirectory, locator);
        return relative.StartsWith("..", StringComparison.Ordinal) || System.IO.Path.IsPathRooted(relative) ? locator : relative;
    }
}
