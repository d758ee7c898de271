using System.IO.Enumeration;
using OrleansShards.Readers.Indexing;

namespace OrleansShards.Readers;

/// <summary>
/// The path policy of file sources: files are read only under the data directory and the extra roots configured by
/// the operator. Paths and patterns are resolved against the data directory; "..", absolute paths and symbolic links
/// that lead outside every root are refused.
/// </summary>
public sealed class DataRoots
{
    private readonly string[] _lexicalRoots;
    private readonly string[] _realRoots;

    /// <summary>Creates the policy.</summary>
    /// <param name="dataDir">The data directory: relative patterns are resolved against it, and it is a root.</param>
    /// <param name="extraRoots">Further directories that may be read (absolute, or relative to the working directory).</param>
    public DataRoots(string dataDir, IEnumerable<string>? extraRoots = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDir);
        DataDirectory = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(dataDir));
        var roots = new List<string> { DataDirectory };
        foreach (var root in extraRoots ?? [])
        {
            ArgumentException.ThrowIfNullOrEmpty(root, nameof(extraRoots));
            var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(root));
            if (!roots.Contains(full, StringComparer.Ordinal))
            {
                roots.Add(full);
            }
        }

        _lexicalRoots = [.. roots];
        _realRoots = [.. roots.Select(RealPath)];
        Roots = _lexicalRoots;
    }

    /// <summary>The data directory (absolute).</summary>
    public string DataDirectory { get; }

    /// <summary>Every root: the data directory first, then the extra roots (absolute).</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>
    /// Resolves paths and glob patterns (<c>*</c> and <c>?</c> within a path segment, <c>**</c> for any number of
    /// directories), relative to the data directory or absolute, to the absolute paths of the files they match:
    /// sorted ordinally (the partition order of a job) and without duplicates. Index side files
    /// (<c>*.osidx</c>) never match.
    /// </summary>
    /// <exception cref="PathOutsideRootsException">A pattern, or a file it matches, resolves outside every root.</exception>
    /// <exception cref="FileNotFoundException">A pattern matches no file.</exception>
    public IReadOnlyList<string> ResolveFiles(IReadOnlyList<string> patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pattern in patterns)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(pattern, nameof(patterns));
            var full = System.IO.Path.GetFullPath(pattern, DataDirectory);
            var segments = full.Split(System.IO.Path.DirectorySeparatorChar);
            var firstWild = Array.FindIndex(segments, IsWildcard);
            var literal = firstWild < 0 ? full : string.Join(System.IO.Path.DirectorySeparatorChar, segments[..firstWild]);
            if (literal.Length == 0)
            {
                literal = System.IO.Path.GetPathRoot(full)!;
            }

            if (!IsUnder(literal, _lexicalRoots))
            {
                throw new PathOutsideRootsException(pattern, full, Roots);
            }

            var matches = new List<string>();
            if (firstWild < 0)
            {
                if (File.Exists(full))
                {
                    matches.Add(full);
                }
            }
            else if (Directory.Exists(literal))
            {
                Match(literal, segments, firstWild, matches);
            }

            if (matches.Count == 0)
            {
                throw new FileNotFoundException($"'{pattern}' matches no file (looked for {full})", pattern);
            }

            foreach (var match in matches)
            {
                var real = RealPath(match);
                if (!IsUnder(real, _realRoots))
                {
                    throw new PathOutsideRootsException(pattern == match ? match : $"{pattern} ({match})", real, Roots);
                }

                result.Add(match);
            }
        }

        return [.. result];
    }

    /// <summary>Checks one absolute or data-directory-relative file path against the roots and returns it absolute.</summary>
    /// <exception cref="PathOutsideRootsException">The path resolves outside every root.</exception>
    public string ResolveFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path, DataDirectory);
        if (!IsUnder(full, _lexicalRoots))
        {
            throw new PathOutsideRootsException(path, full, Roots);
        }

        var real = RealPath(full);
        return IsUnder(real, _realRoots) ? full : throw new PathOutsideRootsException(path, real, Roots);
    }

    private static bool IsWildcard(string segment) => segment.AsSpan().IndexOfAny('*', '?') >= 0;

    private static bool IsIndexFile(string name)
        => name.EndsWith(RecordIndexStore.SideFileExtension, StringComparison.Ordinal)
           || (name.EndsWith(".tmp", StringComparison.Ordinal) && name.Contains(RecordIndexStore.SideFileExtension + ".", StringComparison.Ordinal));

    private static void Match(string directory, string[] segments, int index, List<string> matches)
    {
        var segment = segments[index];
        var last = index == segments.Length - 1;
        if (segment == "**")
        {
            if (last)
            {
                // "dir/**" matches every file below dir.
                AddFiles(directory, "*", matches);
            }
            else
            {
                Match(directory, segments, index + 1, matches);
            }

            foreach (var sub in SubDirectories(directory, "*"))
            {
                Match(sub, segments, index, matches);
            }

            return;
        }

        if (last)
        {
            AddFiles(directory, segment, matches);
            return;
        }

        if (!IsWildcard(segment))
        {
            var next = System.IO.Path.Combine(directory, segment);
            if (Directory.Exists(next))
            {
                Match(next, segments, index + 1, matches);
            }

            return;
        }

        foreach (var sub in SubDirectories(directory, segment))
        {
            Match(sub, segments, index + 1, matches);
        }
    }

    private static void AddFiles(string directory, string pattern, List<string> matches)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            var name = System.IO.Path.GetFileName(file);
            if (FileSystemName.MatchesSimpleExpression(pattern, name, ignoreCase: false) && !IsIndexFile(name))
            {
                matches.Add(file);
            }
        }
    }

    /// <summary>Subdirectories whose names match; "**" does not descend into symbolic links (no cycles).</summary>
    private static IEnumerable<string> SubDirectories(string directory, string pattern)
    {
        foreach (var sub in Directory.EnumerateDirectories(directory))
        {
            var info = new DirectoryInfo(sub);
            if (info.LinkTarget is null && FileSystemName.MatchesSimpleExpression(pattern, info.Name, ignoreCase: false))
            {
                yield return sub;
            }
        }
    }

    private static bool IsUnder(string path, string[] roots)
    {
        foreach (var root in roots)
        {
            if (path.Length == root.Length ? path == root
                : path.StartsWith(root, StringComparison.Ordinal)
                  && (root.EndsWith(System.IO.Path.DirectorySeparatorChar) || path[root.Length] == System.IO.Path.DirectorySeparatorChar))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The path with every symbolic link in it resolved (as realpath(3) does; missing parts are kept).</summary>
    internal static string RealPath(string path)
    {
        var pending = System.IO.Path.GetFullPath(path);
        for (var hops = 0; hops < 64; hops++)
        {
            var root = System.IO.Path.GetPathRoot(pending)!;
            var parts = pending[root.Length..].Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var current = root;
            var relinked = false;
            for (var i = 0; i < parts.Length; i++)
            {
                var next = System.IO.Path.Combine(current, parts[i]);
                var target = new FileInfo(next).LinkTarget;
                if (target is not null)
                {
                    var resolved = System.IO.Path.GetFullPath(target, current);
                    pending = System.IO.Path.Combine([resolved, .. parts[(i + 1)..]]);
                    relinked = true;
                    break;
                }

                current = next;
            }

            if (!relinked)
            {
                return System.IO.Path.TrimEndingDirectorySeparator(current);
            }
        }

        throw new IOException($"{path}: too many levels of symbolic links");
    }
}
