using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using OrleansShards.Readers.Indexing;

namespace OrleansShards.Readers.Objects;

/// <summary>
/// The local copies of object versions under one directory, kept within a size bound: least recently used copies (with
/// their <c>.osidx</c> index side files) are deleted when the copies together grow past
/// <see cref="ObjectSourceOptions.CacheMaxBytes"/>, older versions of a key before anything else, and never a copy that
/// a read holds a <see cref="Lease"/> on.
/// </summary>
/// <remarks>
/// <para>
/// A copy is <c>{directory}/{kk}/{keyHash}.{versionHash}.object</c>: the key hash names the object (kind, connection,
/// container, key), the version hash its ETag and size, so the versions of one key are found by name, also for copies
/// left by an earlier run (which are taken into account, oldest modification first, when the cache is first used).
/// </para>
/// <para>
/// One instance serves each directory in a process (<see cref="For"/>), so every reader of the process sees the same
/// leases. Processes that share a directory do not see each other's leases: give each silo its own data directory.
/// A copy bigger than the bound alone is kept while it is leased and deleted when the next copy is added. The bound
/// counts the copies and their side files; downloads in progress (<c>.part</c> files) are not counted.
/// </para>
/// </remarks>
public sealed class ObjectCache
{
    /// <summary>The extension of a local copy.</summary>
    public const string ObjectExtension = ".object";

    private static readonly ConcurrentDictionary<string, ObjectCache> Instances = new(StringComparer.Ordinal);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;

    /// <summary>The sum of the entries' <see cref="Entry.Bytes"/>, kept as they change.</summary>
    private long _total;
    private long _evictions;
    private bool _scanned;

    private sealed class Entry(string path, string keyHash)
    {
        public string Path { get; } = path;

        public string KeyHash { get; } = keyHash;

        public long Bytes { get; set; }

        public long LastUse { get; set; }

        public int Leases { get; set; }

        /// <summary>A newer version of the same key was added after this one.</summary>
        public bool Stale { get; set; }
    }

    private ObjectCache(string directory, long maxBytes)
    {
        Directory = directory;
        MaxBytes = maxBytes;
    }

    /// <summary>The cache of <paramref name="directory"/> in this process, created on first use.</summary>
    /// <param name="directory">The cache directory (made absolute).</param>
    /// <param name="maxBytes">The bound; the latest value given for a directory applies.</param>
    public static ObjectCache For(string directory, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        var cache = Instances.GetOrAdd(Path.GetFullPath(directory), d => new ObjectCache(d, maxBytes));
        cache.MaxBytes = maxBytes;
        return cache;
    }

    /// <summary>The directory of the copies.</summary>
    public string Directory { get; }

    /// <summary>The most bytes the copies and their side files may take together.</summary>
    public long MaxBytes { get; private set; }

    /// <summary>How many copies were deleted to keep the bound.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>The bytes of the copies and their side files, as last measured.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    /// <summary>The path of the local copy of one object version.</summary>
    /// <param name="objectIdentity">What names the object: kind, connection, container and key.</param>
    /// <param name="version">What names its version: ETag and size.</param>
    public string PathOf(string objectIdentity, string version)
    {
        ArgumentNullException.ThrowIfNull(objectIdentity);
        ArgumentNullException.ThrowIfNull(version);
        var key = Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(objectIdentity)));
        var versionHash = Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(objectIdentity + "\0" + version)));
        return Path.Combine(Directory, key[..2], $"{key}.{versionHash}{ObjectExtension}");
    }

    /// <summary>
    /// Takes a lease on the copy at <paramref name="path"/> (which may not exist yet): it is not deleted until the lease
    /// is disposed, and counts as used now.
    /// </summary>
    public Lease Acquire(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_gate)
        {
            EnsureScanned();
            var entry = EntryOf(path);
            entry.Leases++;
            entry.LastUse = ++_clock;
        }

        return new Lease(this, path);
    }

    /// <summary>
    /// Records that the copy at <paramref name="path"/> was written: measures it, marks the other versions of its key
    /// stale, and deletes copies until the cache is within its bound.
    /// </summary>
    public void Added(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_gate)
        {
            EnsureScanned();
            var entry = EntryOf(path);
            entry.Stale = false;
            entry.LastUse = ++_clock;
            SetBytes(entry, Measure(path));
            foreach (var other in _entries.Values)
            {
                if (other != entry && other.KeyHash == entry.KeyHash)
                {
                    other.Stale = true;
                }
            }

            Trim();
        }
    }

    /// <summary>Deletes unleased copies, stale versions first, then least recently used, until within the bound.</summary>
    public void Trim()
    {
        lock (_gate)
        {
            EnsureScanned();
            if (_total <= MaxBytes)
            {
                return;
            }

            foreach (var victim in _entries.Values.Where(e => e.Leases == 0).OrderByDescending(e => e.Stale).ThenBy(e => e.LastUse).ToList())
            {
                if (_total <= MaxBytes)
                {
                    break;
                }

                if (Delete(victim.Path))
                {
                    Remove(victim);
                    Interlocked.Increment(ref _evictions);
                }
            }
        }
    }

    private void Release(string path)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(path, out var entry))
            {
                entry.Leases--;
                // The read may have written the side file: count it.
                SetBytes(entry, Measure(path));
                if (entry.Leases == 0 && entry.Bytes == 0)
                {
                    Remove(entry); // never written (a failed download)
                }
            }

            Trim();
        }
    }

    private void SetBytes(Entry entry, long bytes)
    {
        _total += bytes - entry.Bytes;
        entry.Bytes = bytes;
    }

    private void Remove(Entry entry)
    {
        _total -= entry.Bytes;
        _entries.Remove(entry.Path);
    }

    private Entry EntryOf(string path)
    {
        if (!_entries.TryGetValue(path, out var entry))
        {
            entry = new Entry(path, KeyHashOf(path));
            _entries.Add(path, entry);
        }

        return entry;
    }

    /// <summary>The key hash of a copy's name; a copy named otherwise (an older naming) is its own key.</summary>
    private static string KeyHashOf(string path)
    {
        var name = Path.GetFileName(path);
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && name.EndsWith(ObjectExtension, StringComparison.Ordinal) && dot < name.Length - ObjectExtension.Length ? name[..dot] : name;
    }

    /// <summary>Takes in the copies an earlier run left, oldest first in the LRU order.</summary>
    private void EnsureScanned()
    {
        if (_scanned)
        {
            return;
        }

        _scanned = true;
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }

        var found = new DirectoryInfo(Directory).EnumerateFiles("*" + ObjectExtension, SearchOption.AllDirectories)
            .Select(f => (File: f, Time: SafeTime(f)))
            .OrderBy(f => f.Time)
            .ToList();
        foreach (var (file, _) in found)
        {
            var entry = EntryOf(file.FullName);
            entry.LastUse = ++_clock;
            SetBytes(entry, Measure(file.FullName));
        }

        // Versions of one key: all but the newest are stale.
        foreach (var group in _entries.Values.GroupBy(e => e.KeyHash))
        {
            foreach (var older in group.OrderByDescending(e => e.LastUse).Skip(1))
            {
                older.Stale = true;
            }
        }
    }

    private static DateTime SafeTime(FileInfo file)
    {
        try
        {
            return file.LastWriteTimeUtc;
        }
        catch (IOException)
        {
            return DateTime.MinValue;
        }
    }

    private static long Measure(string path)
    {
        var copy = new FileInfo(path);
        var side = new FileInfo(RecordIndex.SideFilePath(path));
        try
        {
            return (copy.Exists ? copy.Length : 0) + (side.Exists ? side.Length : 0);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static bool Delete(string path)
    {
        try
        {
            File.Delete(RecordIndex.SideFilePath(path));
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // tried again at the next trim
        }
    }

    /// <summary>A hold on one copy: while any lease on it is open the copy is not deleted.</summary>
    public sealed class Lease : IDisposable
    {
        private ObjectCache? _cache;

        internal Lease(ObjectCache cache, string path)
        {
            _cache = cache;
            Path = path;
        }

        /// <summary>The copy's path.</summary>
        public string Path { get; }

        /// <summary>Gives the copy back to the cache (which may then delete it).</summary>
        public void Dispose() => Interlocked.Exchange(ref _cache, null)?.Release(Path);
    }
}
