using OrleansShards.Core;

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
