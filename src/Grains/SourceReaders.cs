using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// The source adapters of the silo by kind: files under the data roots always, and whatever else
/// the host registers as <see cref="ISourceAdapter"/> (SQL tables, object stores). Adapters keep
/// one reader per configuration, so record-index caches are shared by every job and request.
/// </summary>
public sealed class SourceReaders
{
    private readonly Dictionary<string, ISourceAdapter> _byKind = new(StringComparer.OrdinalIgnoreCase);
    private readonly FileSourceAdapter _files;

    /// <summary>Creates the registry from the options and the adapters registered in the container.</summary>
    public SourceReaders(IOptions<ShardsOptions> options, IEnumerable<ISourceAdapter>? adapters = null)
    {
        var settings = options.Value;
        _files = new FileSourceAdapter(new DataRoots(
            Path.GetFullPath(settings.DataDir), settings.DataRoots.Select(Path.GetFullPath), settings.StatePaths.Select(Path.GetFullPath), settings.Reads));
        foreach (var adapter in new ISourceAdapter[] { _files }.Concat(adapters ?? []))
        {
            foreach (var kind in adapter.Kinds)
            {
                _byKind[kind] = adapter;
            }
        }
    }

    /// <summary>The reader for <paramref name="source"/>.</summary>
    /// <exception cref="ShardsException">The kind is not served by this silo.</exception>
    public IPartitionReader For(SourceSpec source) => Translate(() => AdapterOf(source).ReaderFor(source));

    /// <summary>The live adapter of <paramref name="source"/>: its splitters watch high-water marks through it.</summary>
    /// <exception cref="ShardsException">The kind is not a live kind served by this silo.</exception>
    public OrleansShards.Readers.Live.ILiveSourceAdapter LiveFor(SourceSpec source) =>
        AdapterOf(source) as OrleansShards.Readers.Live.ILiveSourceAdapter
        ?? throw new ShardsException(ShardsErrorKind.Invalid, "source.kind", $"source kind '{source.Kind}' is not a live source");

    /// <summary>The partitions of <paramref name="source"/> in partition order; refuses paths outside the data roots.</summary>
    /// <exception cref="ShardsException">A path outside the data roots, a pattern that matches no file, an unknown connection...</exception>
    public async Task<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default)
    {
        try
        {
            return await AdapterOf(source).ResolvePartitionsAsync(source, cancellationToken);
        }
        catch (SourceSpecException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, e.Field, e.Message);
        }
    }

    /// <summary>
    /// A locator as users name it: a path relative to the data directory when it lies inside it; a locator of another
    /// adapter (<c>{kind}://...</c>, such as a SQL table) as that adapter shows it.
    /// </summary>
    public string Display(string locator)
    {
        var scheme = locator.IndexOf("://", StringComparison.Ordinal);
        return scheme > 0 && _byKind.TryGetValue(locator[..scheme], out var adapter) && adapter != _files
            ? adapter.Display(locator)
            : _files.Display(locator);
    }

    private ISourceAdapter AdapterOf(SourceSpec source) =>
        _byKind.TryGetValue(source.Kind, out var adapter)
            ? adapter
            : throw new ShardsException(ShardsErrorKind.Invalid, "source.kind", $"source kind '{source.Kind}' is not served by this server: it serves {string.Join(", ", _byKind.Keys.Order(StringComparer.Ordinal))}");

    private static T Translate<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (SourceSpecException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, e.Field, e.Message);
        }
    }
}
