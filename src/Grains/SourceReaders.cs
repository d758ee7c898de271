using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// The reader of each source kind, one instance per distinct reader configuration so that the
/// readers' record-index caches are shared by every job and request of the silo.
/// </summary>
public sealed class SourceReaders(IOptions<ShardsOptions> options)
{
    private readonly ConcurrentDictionary<(string Kind, bool Header, char Delimiter), IPartitionReader> _readers = new();
    private readonly DataRoots _roots = new(Path.GetFullPath(options.Value.DataDir), options.Value.DataRoots.Select(Path.GetFullPath));

    /// <summary>The reader for <paramref name="source"/>.</summary>
    public IPartitionReader For(SourceSpec source)
    {
        var kind = source.Kind.ToLowerInvariant();
        var header = source.Header ?? true;
        var delimiter = string.IsNullOrEmpty(source.Delimiter) ? ',' : source.Delimiter[0];
        return _readers.GetOrAdd((kind, header, delimiter), static key =>
        {
            try
            {
                return PartitionReaders.ForKind(key.Kind, new CsvReaderOptions { Header = key.Header, Delimiter = key.Delimiter });
            }
            catch (ArgumentException e)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "source.kind", e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
            }
        });
    }

    /// <summary>The files of <paramref name="source"/>, in partition order; refuses paths outside the data roots.</summary>
    /// <exception cref="ShardsException">A path outside the data roots, or a pattern that matches no file.</exception>
    public IReadOnlyList<string> ResolveFiles(SourceSpec source)
    {
        try
        {
            return _roots.ResolveFiles(source.Paths ?? []);
        }
        catch (PathOutsideRootsException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "source.paths", e.Message);
        }
        catch (FileNotFoundException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "source.paths", e.Message);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "source.paths", e.Message);
        }
    }

    /// <summary>A path as users name it: relative to the data directory when it lies inside it.</summary>
    public string Display(string path)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(options.Value.DataDir), path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
