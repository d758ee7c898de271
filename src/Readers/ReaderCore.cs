using OrleansShards.Readers.Indexing;
namespace OrleansShards.Readers;

/// <summary>What the file readers share: fingerprint checks, range checks, projection.</summary>
internal static class ReaderCore
{
    public static FileStream OpenRead(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Open,
        Access = FileAccess.Read,
        Share = FileShare.ReadWrite | FileShare.Delete,
        BufferSize = 0,
        Options = FileOptions.SequentialScan,
    });

    public static async ValueTask<PartitionDescription> DescribeAsync(RecordIndexStore store, string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var index = await store.GetAsync(full, FileStat.Of(full), cancellationToken).ConfigureAwait(false);
        return new PartitionDescription(full, index.RecordCount, index.Fingerprint, index.Columns);
    }

    /// <summary>Checks the file against the pinned fingerprint and the range against the file; returns the record count to read.</summary>
    public static async ValueTask<(string Path, RecordIndex Index, int Count)> PrepareAsync(
        RecordIndexStore store, ShardReadRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Path, nameof(request));
        ArgumentNullException.ThrowIfNull(request.Expected, nameof(request));
        var path = Path.GetFullPath(request.Path);
        var stat = FileStat.TryOf(path) ?? throw new SourceChangedException(path, "the file no longer exists");
        CheckStat(path, request.Expected, stat);
        var index = await store.GetAsync(path, stat, cancellationToken).ConfigureAwait(false);
        CheckStat(path, request.Expected, new FileStat(index.Length, index.LastWriteTimeUtcTicks));
        CheckContentHash(path, request.Expected, index.ContentHash);
        CheckRange(request, index.RecordCount, path, $"file's {index.RecordCount} records");
        var count = CountToRead(request, path);
        return (path, index, count);
    }

    /// <summary>The content hash must be the pinned one (a file rewritten with the same length and time is caught here).</summary>
    public static void CheckContentHash(string path, FileFingerprint expected, ulong actual)
    {
        if (actual != expected.ContentHash)
        {
            throw new SourceChangedException(path, $"content hash {expected.ContentHash:x16} -> {actual:x16}, with the same length and modification time");
        }
    }

    /// <summary>The range and limit of <paramref name="request"/> must fit the <paramref name="available"/> records; <paramref name="what"/> names them in the error.</summary>
    public static void CheckRange(ShardReadRequest request, long available, string place, string what)
    {
        if (request.Start < 0 || request.End < request.Start || request.End > available)
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"{place}: the range [{request.Start}, {request.End}) is not within the {what}");
        }

        if (request.Limit is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.Limit, "the limit must not be negative");
        }
    }

    /// <summary>The records <paramref name="request"/> reads: its range, cut to its limit; refused when too many for one batch.</summary>
    public static int CountToRead(ShardReadRequest request, string place)
    {
        var count = request.End - request.Start;
        if (request.Limit is { } limit && limit < count)
        {
            count = limit;
        }

        return count <= Array.MaxLength / 2
            ? (int)count
            : throw new ArgumentOutOfRangeException(nameof(request), $"{place}: {count} records are too many for one batch");
    }

    /// <summary>The file's length and modification time must be the pinned ones.</summary>
    public static void CheckStat(string path, FileFingerprint expected, FileStat actual)
    {
        var changes = new List<string>(2);
        if (actual.Length != expected.Length)
        {
            changes.Add($"length {expected.Length} -> {actual.Length} bytes");
        }

        if (actual.LastWriteTimeUtcTicks != expected.LastWriteTimeUtcTicks)
        {
            changes.Add($"modification time {Format(expected.LastWriteTimeUtcTicks)} -> {Format(actual.LastWriteTimeUtcTicks)}");
        }

        if (changes.Count > 0)
        {
            throw new SourceChangedException(path, string.Join(", ", changes));
        }
    }

    private static string Format(long ticks) => ticks is >= 0 and <= 3155378975999999999
        ? new DateTime(ticks, DateTimeKind.Utc).ToString("O", System.Globalization.CultureInfo.InvariantCulture)
        : ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>After a read: the file must still be the one that was read, else the batch is dropped.</summary>
    public static void CheckUnchanged(string path, FileFingerprint expected, RecordBatch batch)
    {
        try
        {
            var stat = FileStat.TryOf(path) ?? throw new SourceChangedException(path, "the file was deleted while it was read");
            CheckStat(path, expected, stat);
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>The field index of each requested column, or null for all columns in file order.</summary>
    public static int[]? Project(string path, string[] fileColumns, IReadOnlyList<string>? requested, bool unknownIsError)
    {
        if (requested is null)
        {
            return null;
        }

        var result = new int[requested.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < requested.Count; i++)
        {
            var name = requested[i] ?? throw new ArgumentException($"{path}: column {i} of the projection is null", nameof(requested));
            if (!seen.Add(name))
            {
                throw new ArgumentException($"{path}: the projection names column '{name}' twice", nameof(requested));
            }

            result[i] = Array.IndexOf(fileColumns, name);
            if (result[i] < 0 && unknownIsError)
            {
                throw new ArgumentException($"{path}: unknown column '{name}'; the file has columns {string.Join(", ", fileColumns.Select(c => $"'{c}'"))}", nameof(requested));
            }
        }

        return result;
    }
}
