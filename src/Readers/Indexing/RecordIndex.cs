using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace OrleansShards.Readers.Indexing;

/// <summary>
/// The length and modification time of a file, as the operating system reports them for the file itself: a symbolic
/// link is followed to its final target (a link's own length and time say nothing of what a read returns).
/// </summary>
internal readonly record struct FileStat(long Length, long LastWriteTimeUtcTicks)
{
    public static FileStat Of(string path) =>
        TryOf(path) ?? throw new FileNotFoundException($"{path}: the file does not exist", path);

    public static FileStat? TryOf(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.LinkTarget is not null)
        {
            info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
        }

        return info is { Exists: true } ? new FileStat(info.Length, info.LastWriteTimeUtc.Ticks) : null;
    }
}

/// <summary>
/// The sparse record index of one file: the byte offset of every <see cref="Stride"/>-th record, the
/// record count, the columns and the fingerprint, all from one full scan.
/// </summary>
internal sealed class RecordIndex(
    string formatKey, long length, long lastWriteTimeUtcTicks, ulong contentHash, long recordCount,
    int stride, string[] columns, long[] offsets) : IFileVersioned
{
    public string FormatKey { get; } = formatKey;
    public long Length { get; } = length;
    public long LastWriteTimeUtcTicks { get; } = lastWriteTimeUtcTicks;
    public ulong ContentHash { get; } = contentHash;
    public long RecordCount { get; } = recordCount;
    public int Stride { get; } = stride;
    public string[] Columns { get; } = columns;

    /// <summary>Offsets[i] is the byte offset where record i * Stride starts.</summary>
    public long[] Offsets { get; } = offsets;

    /// <summary>Whether the index was written beside the data (false when the directory is not writable).</summary>
    public bool Persisted { get; set; }

    public FileFingerprint Fingerprint => new(Length, LastWriteTimeUtcTicks, ContentHash);

    public bool Matches(FileStat stat) => stat.Length == Length && stat.LastWriteTimeUtcTicks == LastWriteTimeUtcTicks;

    private const ulong Magic = 0x0031_5844_4953_4F; // "OSIDX1" little-endian
    private const int Version = 1;

    /// <summary>The side file of a data file.</summary>
    public static string SideFilePath(string path) => path + RecordIndexStore.SideFileExtension;

    public byte[] Serialize()
    {
        using var ms = new MemoryStream(64 + Offsets.Length * 8);
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            w.Write(FormatKey);
            w.Write(Length);
            w.Write(LastWriteTimeUtcTicks);
            w.Write(ContentHash);
            w.Write(RecordCount);
            w.Write(Stride);
            w.Write(Columns.Length);
            foreach (var c in Columns)
            {
                w.Write(c);
            }

            w.Write(Offsets.Length);
            foreach (var o in Offsets)
            {
                w.Write(o);
            }
        }

        var body = ms.GetBuffer().AsSpan(0, (int)ms.Length);
        var checksum = XxHash3.HashToUInt64(body);
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(tail, checksum);
        ms.Write(tail);
        return ms.ToArray();
    }

    /// <summary>Reads a side file; null when it is missing, damaged, of another version or another format key.</summary>
    public static RecordIndex? TryDeserialize(byte[] bytes, string expectedFormatKey)
    {
        if (bytes.Length < 16)
        {
            return null;
        }

        var body = bytes.AsSpan(0, bytes.Length - 8);
        if (XxHash3.HashToUInt64(body) != BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8)))
        {
            return null;
        }

        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 8), Encoding.UTF8);
            if (r.ReadUInt64() != Magic || r.ReadInt32() != Version || r.ReadString() != expectedFormatKey)
            {
                return null;
            }

            var length = r.ReadInt64();
            var mtime = r.ReadInt64();
            var hash = r.ReadUInt64();
            var count = r.ReadInt64();
            var stride = r.ReadInt32();
            var columns = new string[r.ReadInt32()];
            for (var i = 0; i < columns.Length; i++)
            {
                columns[i] = r.ReadString();
            }

            var offsets = new long[r.ReadInt32()];
            for (var i = 0; i < offsets.Length; i++)
            {
                offsets[i] = r.ReadInt64();
            }

            return stride <= 0 || offsets.Length != (count + stride - 1) / stride
                ? null
                : new RecordIndex(expectedFormatKey, length, mtime, hash, count, stride, columns, offsets) { Persisted = true };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or OverflowException)
        {
            return null;
        }
    }
}

/// <summary>
/// Builds, persists beside the data, reloads and caches the sparse record indexes of one reader.
/// </summary>
internal sealed class RecordIndexStore
{
    private readonly string _formatKey;
    private readonly Func<string, CancellationToken, RecordIndex> _scan;
    private readonly FileVersionCache<RecordIndex> _cache;

    public RecordIndexStore(string formatKey, Func<string, CancellationToken, RecordIndex> scan)
    {
        _formatKey = formatKey;
        _scan = scan;
        // Building reads the whole file: a thread of its own rather than one of the pool's.
        _cache = new FileVersionCache<RecordIndex>(file =>
            Task.Factory.StartNew(() => LoadOrBuild(file), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
    }

    public const string SideFileExtension = ".osidx";

    private long _scans;
    private long _sideFileLoads;

    public long Scans => Interlocked.Read(ref _scans);

    public long SideFileLoads => Interlocked.Read(ref _sideFileLoads);

    /// <summary>The index of <paramref name="path"/> for the file as <paramref name="stat"/> describes it.</summary>
    /// <remarks>When the file changed since the caller looked at it, the index describes the file as it is now: the caller compares it with what it expects.</remarks>
    public ValueTask<RecordIndex> GetAsync(string path, FileStat stat, CancellationToken cancellationToken) =>
        _cache.GetAsync(path, stat, cancellationToken);

    private RecordIndex LoadOrBuild(string path)
    {
        var side = RecordIndex.SideFilePath(path);
        var stat = FileStat.Of(path);
        try
        {
            if (File.Exists(side))
            {
                var loaded = RecordIndex.TryDeserialize(File.ReadAllBytes(side), _formatKey);
                if (loaded is not null && loaded.Matches(stat))
                {
                    Interlocked.Increment(ref _sideFileLoads);
                    return loaded;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable side file is rebuilt.
        }

        for (var attempt = 0; ; attempt++)
        {
            var index = _scan(path, CancellationToken.None);
            Interlocked.Increment(ref _scans);
            var after = FileStat.Of(path);
            if (!(after == stat && index.Matches(after)))
            {
                // The file changed while it was scanned: scan again, a few times.
                if (attempt >= 3)
                {
                    throw new IOException($"{path}: the file kept changing while it was indexed");
                }

                stat = after;
                continue;
            }

            index.Persisted = TryPersist(side, index);
            return index;
        }
    }

    private static bool TryPersist(string side, RecordIndex index)
    {
        var temp = $"{side}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temp, index.Serialize());
            File.Move(temp, side, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception inner) when (inner is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the index stays in memory.
            }

            return false;
        }
    }
}

/// <summary>Passes a stream through and hashes and counts every byte read.</summary>
internal sealed class HashingStream(Stream inner) : Stream
{
    private readonly XxHash3 _hash = new();

    public long BytesRead { get; private set; }

    public ulong Hash => _hash.GetCurrentHashAsUInt64();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        _hash.Append(buffer[..n]);
        BytesRead += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        _hash.Append(buffer.Span[..n]);
        BytesRead += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Reads (and hashes) whatever the consumer left unread.</summary>
    public void Drain()
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            while (Read(buffer, 0, buffer.Length) > 0)
            {
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
