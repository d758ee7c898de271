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
        if (index.ContentHash != request.Expected.ContentHash)
        {
            throw new SourceChangedException(path, $"content hash {request.Expected.ContentHash:x16} -> {index.ContentHash:x16}, with the same length and modification time");
        }

        if (request.Start < 0 || request.End < request.Start || request.End > index.RecordCount)
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"{path}: the range [{request.Start}, {request.End}) is not within the file's {index.RecordCount} records");
        }

        if (request.Limit is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.Limit, "the limit must not be negative");
        }

        var count = request.End - request.Start;
        if (request.Limit is { } limit && limit < count)
        {
            count = limit;
        }

        if (count > Array.MaxLength / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"{path}: {count} records are too many for one batch");
        }

        return (path, index, (int)count);
    }

    private static void CheckStat(string path, FileFingerprint expected, FileStat actual)
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
