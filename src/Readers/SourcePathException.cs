namespace OrleansShards.Readers;

/// <summary>
/// A path or pattern the data roots refuse for what it is, not where it leads: a NUL character, a glob past its
/// bounds (depth, entries, time), a loop of symbolic links.
/// </summary>
public sealed class SourcePathException(string path, string reason) : ArgumentException($"'{Printable(path)}': {reason}")
{
    /// <summary>The path or pattern as given.</summary>
    public string Path { get; } = path;

    /// <summary>The path with control characters shown as escapes, for messages.</summary>
    internal static string Printable(string path) =>
        path.Any(char.IsControl) ? string.Concat(path.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : path;
}
