namespace OrleansShards.Readers;

/// <summary>A path or pattern that resolves outside every configured data root.</summary>
public sealed class PathOutsideRootsException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The path or pattern as given.</param>
    /// <param name="resolved">What it resolved to (after "..", and symbolic links when they were followed).</param>
    /// <param name="roots">The configured roots.</param>
    public PathOutsideRootsException(string path, string resolved, IReadOnlyList<string> roots)
        : base(resolved == path
            ? $"'{path}' is outside the data roots ({string.Join(", ", roots)}); files are read only under them"
            : $"'{path}' resolves to '{resolved}', which is outside the data roots ({string.Join(", ", roots)}); files are read only under them")
    {
        Path = path;
        Resolved = resolved;
        Roots = roots;
    }

    /// <summary>The path or pattern as given.</summary>
    public string Path { get; }

    /// <summary>What the path resolved to.</summary>
    public string Resolved { get; }

    /// <summary>The configured roots.</summary>
    public IReadOnlyList<string> Roots { get; }
}
