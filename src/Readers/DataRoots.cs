using System.Diagnostics;
using System.IO.Enumeration;
using OrleansShards.Readers.Indexing;

namespace OrleansShards.Readers;

/// <summary>
/// The path policy of file sources: files are read only under the data directory and the extra roots configured by
/// the operator, never from the server's own state. Paths and patterns are resolved against the data directory;
/// "..", absolute paths and symbolic links that lead outside every root are refused when a job is created, and again
/// each time a file is opened (<see cref="CheckReadable"/>): a job pins a file's real path (links resolved), so a link
/// swapped in later cannot lead its reads elsewhere.
/// </summary>
public sealed class DataRoots
{
    private readonly string[] _lexicalRoots;
    private readonly string[] _realRoots;
    private readonly string[] _excluded;
    private readonly ReadLimits _limits;

    /// <summary>Creates the policy.</summary>
    /// <param name="dataDir">The data directory: relative patterns are resolved against it, and it is a root.</param>
    /// <param name="extraRoots">Further directories that may be read (absolute, or relative to the working directory).</param>
    /// <param name="excluded">
    /// Directories and files never read as sources even under a root: the server's state and log (a SQLite file
    /// excludes its <c>-wal</c>, <c>-shm</c> and <c>-journal</c> files too). <c>{dataDir}/state</c> is always excluded.
    /// </param>
    /// <param name="limits">The bounds of a glob's walk; the defaults when null.</param>
    public DataRoots(string dataDir, IEnumerable<string>? extraRoots = null, IEnumerable<string>? excluded = null, ReadLimits? limits = null)
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
        RealDataDirectory = _realRoots[0];
        _excluded = [.. new[] { System.IO.Path.Combine(DataDirectory, "state") }.Concat(excluded ?? [])
            .Select(e => RealPath(System.IO.Path.GetFullPath(e)))
            .Distinct(StringComparer.Ordinal)];
        _limits = limits ?? new ReadLimits();
        Roots = _lexicalRoots;
    }

    /// <summary>The data directory (absolute).</summary>
    public string DataDirectory { get; }

    /// <summary>The data directory with symbolic links resolved: where the pinned paths of its files start.</summary>
    public string RealDataDirectory { get; }

    /// <summary>Every root: the data directory first, then the extra roots (absolute).</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>
    /// Resolves paths and glob patterns (<c>*</c> and <c>?</c> within a path segment, <c>**</c> for any number of
    /// directories), relative to the data directory or absolute, to the real paths (links resolved) of the files they
    /// match: sorted ordinally (the partition order of a job) and without duplicates. Index side files
    /// (<c>*.osidx</c>) and the server's state never match. A pattern is matched in one walk of its directories,
    /// bounded by <see cref="ReadLimits.GlobMaxDepth"/>, <see cref="ReadLimits.GlobMaxEntries"/> and
    /// <see cref="ReadLimits.GlobTimeout"/>; <c>**</c> does not descend into symbolic links (no cycles).
    /// </summary>
    /// <exception cref="PathOutsideRootsException">A pattern, or a file it matches, resolves outside every root.</exception>
    /// <exception cref="SourcePathException">A NUL in a pattern, a walk past its bounds, a loop of links, the server's state.</exception>
    /// <exception cref="FileNotFoundException">A pattern matches no file.</exception>
    public IReadOnlyList<string> ResolveFiles(IReadOnlyList<string> patterns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pattern in patterns)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(pattern, nameof(patterns));
            RefuseNul(pattern);
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

            var matches = new List<(string Path, string Real)>();
            if (firstWild < 0)
            {
                if (File.Exists(full))
                {
                    var real = Real(pattern, full);
                    RefuseExcluded(pattern, real);
                    matches.Add((full, real));
                }
            }
            else if (Directory.Exists(literal))
            {
                var realLiteral = Real(pattern, literal);
                if (!IsUnder(realLiteral, _realRoots))
                {
                    throw new PathOutsideRootsException(pattern, realLiteral, Roots);
                }

                new GlobWalk(this, pattern, segments[firstWild..], matches, cancellationToken).Run(literal, realLiteral);
            }

            if (matches.Count == 0)
            {
                throw new FileNotFoundException($"'{pattern}' matches no file (looked for {full})", pattern);
            }

            foreach (var (match, real) in matches)
            {
                if (!IsUnder(real, _realRoots))
                {
                    throw new PathOutsideRootsException(pattern == match ? match : $"{pattern} ({match})", real, Roots);
                }

                result.Add(real);
            }
        }

        return [.. result];
    }

    /// <summary>Checks one absolute or data-directory-relative file path against the roots and returns its real path.</summary>
    /// <exception cref="PathOutsideRootsException">The path resolves outside every root.</exception>
    /// <exception cref="SourcePathException">A NUL in the path, a loop of links, the server's state.</exception>
    public string ResolveFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        RefuseNul(path);
        var full = System.IO.Path.GetFullPath(path, DataDirectory);
        if (!IsUnder(full, _lexicalRoots))
        {
            throw new PathOutsideRootsException(path, full, Roots);
        }

        var real = Real(path, full);
        RefuseExcluded(path, real);
        return IsUnder(real, _realRoots) ? real : throw new PathOutsideRootsException(path, real, Roots);
    }

    /// <summary>
    /// The check before each open of a pinned path: with every link resolved now, it must still lie under a root and
    /// outside the server's state. (A job pins real paths, so a link found here is one swapped in after creation.)
    /// </summary>
    /// <exception cref="PathOutsideRootsException">The path now resolves outside every root.</exception>
    /// <exception cref="SourcePathException">A NUL in the path, a loop of links, the server's state.</exception>
    public void CheckReadable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        RefuseNul(path);
        var real = Real(path, System.IO.Path.GetFullPath(path, DataDirectory));
        RefuseExcluded(path, real);
        if (!IsUnder(real, _realRoots))
        {
            throw new PathOutsideRootsException(path, real, Roots);
        }
    }

    /// <summary>Whether <paramref name="path"/> (absolute) lies in the data directory, as written or with links resolved; the relative path when it does.</summary>
    public bool TryRelative(string path, out string relative)
    {
        foreach (var directory in new[] { DataDirectory, RealDataDirectory })
        {
            relative = System.IO.Path.GetRelativePath(directory, path);
            if (!relative.StartsWith("..", StringComparison.Ordinal) && !System.IO.Path.IsPathRooted(relative))
            {
                return true;
            }
        }

        relative = path;
        return false;
    }

    private static void RefuseNul(string path)
    {
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new SourcePathException(path, "contains a NUL character, which no file name can hold");
        }
    }

    private void RefuseExcluded(string path, string real)
    {
        if (IsExcluded(real))
        {
            throw new SourcePathException(path, $"resolves to '{real}', which holds the server's own state; it is never read as a source");
        }
    }

    private bool IsExcluded(string real)
    {
        foreach (var excluded in _excluded)
        {
            if (IsUnder(real, [excluded]) || (real.StartsWith(excluded, StringComparison.Ordinal) && real.AsSpan(excluded.Length) is "-wal" or "-shm" or "-journal"))
            {
                return true;
            }
        }

        return false;
    }

    private static string Real(string pattern, string path)
    {
        try
        {
            return RealPath(path);
        }
        catch (IOException e)
        {
            throw new SourcePathException(pattern, e.Message);
        }
    }

    private static bool IsWildcard(string segment) => segment.AsSpan().IndexOfAny('*', '?') >= 0;

    private static bool IsIndexFile(string name)
        => name.EndsWith(RecordIndexStore.SideFileExtension, StringComparison.Ordinal)
           || (name.EndsWith(".tmp", StringComparison.Ordinal) && name.Contains(RecordIndexStore.SideFileExtension + ".", StringComparison.Ordinal));

    /// <summary>
    /// One walk of the directories under a pattern's literal prefix: each directory is listed once, carrying the set
    /// of pattern segments that may match in it (<c>**</c> stays in the set while it descends), so a pattern with many
    /// <c>**</c> costs the entries it looks at times its segments, never a walk per <c>**</c>.
    /// </summary>
    private sealed class GlobWalk(DataRoots roots, string pattern, string[] segments, List<(string Path, string Real)> matches, CancellationToken cancellationToken)
    {
        private static readonly EnumerationOptions Listing = new() { AttributesToSkip = 0, IgnoreInaccessible = true, RecurseSubdirectories = false };
        private long _entries;
        private long _started;

        public void Run(string directory, string realDirectory)
        {
            _started = Stopwatch.GetTimestamp();
            Walk(directory, realDirectory, Closure([0]), 0);
        }

        /// <summary>The states with every <c>**</c> also matching no directory at all.</summary>
        private List<int> Closure(IEnumerable<int> states)
        {
            var result = new List<int>();
            foreach (var state in states)
            {
                for (var i = state; i < segments.Length && !result.Contains(i); i++)
                {
                    result.Add(i);
                    if (segments[i] != "**")
                    {
                        break;
                    }
                }
            }

            return result;
        }

        private void Walk(string directory, string realDirectory, List<int> states, int depth)
        {
            var last = segments.Length - 1;
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", Listing))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Stopwatch.GetElapsedTime(_started) >= roots._limits.GlobTimeout)
                {
                    throw new SourcePathException(pattern, $"matching the pattern took longer than {roots._limits.GlobTimeout.TotalSeconds:0.#} s (Shards:Reads:GlobTimeout); name a narrower directory or pattern");
                }

                if (++_entries > roots._limits.GlobMaxEntries)
                {
                    throw new SourcePathException(pattern, $"the pattern looks at more than {roots._limits.GlobMaxEntries} directory entries (Shards:Reads:GlobMaxEntries); name a narrower directory or pattern");
                }

                var name = entry.Name;
                var isLink = (entry.Attributes & FileAttributes.ReparsePoint) != 0;
                if (entry is DirectoryInfo)
                {
                    var next = new List<int>();
                    foreach (var i in states)
                    {
                        if (segments[i] == "**")
                        {
                            if (!isLink)
                            {
                                next.Add(i);
                            }
                        }
                        else if (i < last && FileSystemName.MatchesSimpleExpression(segments[i], name, ignoreCase: false))
                        {
                            next.Add(i + 1);
                        }
                    }

                    if (next.Count == 0)
                    {
                        continue;
                    }

                    var real = isLink ? Real(pattern, entry.FullName) : System.IO.Path.Combine(realDirectory, name);
                    if (roots.IsExcluded(real))
                    {
                        continue;
                    }

                    if (!IsUnder(real, roots._realRoots))
                    {
                        // Never list a directory outside the roots, even to find that nothing matches there.
                        throw new PathOutsideRootsException($"{pattern} ({entry.FullName})", real, roots.Roots);
                    }

                    if (depth + 1 > roots._limits.GlobMaxDepth)
                    {
                        throw new SourcePathException(pattern, $"the pattern descends more than {roots._limits.GlobMaxDepth} directories (Shards:Reads:GlobMaxDepth) below '{System.IO.Path.GetRelativePath(roots.DataDirectory, directory)}'");
                    }

                    Walk(entry.FullName, real, Closure(next), depth + 1);
                }
                else if (!IsIndexFile(name) && states.Any(i => i == last && (segments[i] == "**" || FileSystemName.MatchesSimpleExpression(segments[i], name, ignoreCase: false))))
                {
                    var real = isLink ? Real(pattern, entry.FullName) : System.IO.Path.Combine(realDirectory, name);
                    if (!roots.IsExcluded(real))
                    {
                        matches.Add((entry.FullName, real));
                    }
                }
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
