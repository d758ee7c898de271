using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;

namespace OrleansShards.Readers.Sql;

/// <summary>
/// What a reader knows of a table: its catalog entry, its row count, and a sparse key index (the key of every
/// <see cref="Stride"/>-th row in key order, and a hash of the keys of each block of <see cref="Stride"/> rows).
/// </summary>
internal sealed class SqlKeyIndex(SqlTable table, long count, int stride, object[] entries, ulong[] blockHashes)
{
    public SqlTable Table { get; } = table;

    public long Count { get; } = count;

    public int Stride { get; } = stride;

    /// <summary>The key of row <c>i * Stride</c> in key order.</summary>
    public object[] Entries { get; } = entries;

    /// <summary>XxHash3 of the keys of rows <c>[i * Stride, (i + 1) * Stride)</c>.</summary>
    public ulong[] BlockHashes { get; } = blockHashes;

    public FileFingerprint Fingerprint { get; } = new(count, 0, Combine(count, stride, blockHashes));

    /// <summary>When the index was built (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public long BuiltAt { get; } = Stopwatch.GetTimestamp();

    /// <summary>When a read last compared the table's row count with <see cref="Count"/>.</summary>
    public long LastCountCheck;

    private static ulong Combine(long count, int stride, ulong[] blockHashes)
    {
        var hash = new XxHash3();
        Span<byte> word = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(word, count);
        hash.Append(word);
        BinaryPrimitives.WriteInt64LittleEndian(word, stride);
        hash.Append(word);
        foreach (var block in blockHashes)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(word, block);
            hash.Append(word);
        }

        return hash.GetCurrentHashAsUInt64();
    }

    public static void AppendKey(XxHash3 hash, ReadOnlySpan<byte> key)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, key.Length);
        hash.Append(length);
        hash.Append(key);
    }
}

/// <summary>
/// Reads SQL tables (SQLite and PostgreSQL) as partitions: a shard is a range of rows in the order of the key
/// column, read with keyset queries (<c>WHERE key &gt;= @k ORDER BY key LIMIT @n</c>), never with an OFFSET scan.
/// </summary>
/// <remarks>
/// <para>
/// Describing a table scans its key column once, in key order: it counts the rows, refuses a key that is null or
/// not unique, and keeps the key of every <c>Stride</c>-th row and a hash of each block of keys. The fingerprint
/// (row count, and the hash of all the keys) is what a job pins.
/// </para>
/// <para>
/// A read runs in one snapshot: it compares the row count with the pinned one (at most once per recheck interval),
/// reads the keys of the blocks that cover the range from the index entry at or below its start and checks
/// their hashes (so rows inserted, deleted or re-keyed there fail the read with <see cref="SourceChangedException"/>
/// instead of serving shifted rows), then reads the rows from the exact key of the range's first row. Changes to
/// the values of non-key columns are not detected: a table has no cheap content hash.
/// </para>
/// </remarks>
internal sealed class SqlPartitionReader(Func<SqlLocator, SqlDialect> dialects, Func<SqlLocator, string> display, SqlSourceOptions options) : IPartitionReader
{
    private readonly ConcurrentDictionary<string, Task<SqlKeyIndex>> _indexes = new(StringComparer.Ordinal);

    public async ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
    {
        var locator = SqlLocator.Parse(path);
        var index = await BuildAsync(locator, cancellationToken);
        _indexes[path] = Task.FromResult(index);
        return new PartitionDescription(path, index.Count, index.Fingerprint, [.. index.Table.Columns.Select(c => c.Name)]);
    }

    public async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var locator = SqlLocator.Parse(request.Path);
        var place = display(locator);
        var index = await IndexFor(request, locator, place, cancellationToken);
        ReaderCore.CheckRange(request, index.Count, place, $"table's {index.Count} rows");

        var (columns, names) = Project(index.Table, request.Columns, place);
        var count = (int)Math.Min(Math.Min(request.End - request.Start, request.Limit ?? int.MaxValue), int.MaxValue / 2);
        if (count == 0)
        {
            using var empty = new JsonRowBatchBuilder(0, 0, names, withCells: true);
            return new SqlRecordBatch(empty.Build(place, names, JsonRowBatch.CellKind.RawValues), names, locator.Kind, columns);
        }

        var dialect = dialects(locator);
        try
        {
            await using var connection = await dialect.OpenAsync(locator, cancellationToken);
            await using var transaction = await dialect.BeginReadAsync(connection, cancellationToken);
            await CheckCount(connection, transaction, index, place, cancellationToken);
            var startKey = await CheckBlocks(connection, transaction, index, request.Start, request.Start + count, place, cancellationToken);
            return await ReadRows(connection, transaction, index.Table, startKey, count, columns, names, place, locator.Kind, cancellationToken);
        }
        catch (DbException e) when (dialect.IsMissingObject(e))
        {
            throw new SourceChangedException(place, $"the table or one of its columns no longer exists: {dialect.Redact(e.Message)}");
        }
        catch (DbException e)
        {
            throw new SqlUnavailableException($"{place}: the rows cannot be read: {dialect.Redact(e.Message)}");
        }
    }

    /// <summary>The index of the request's table as pinned by the job; rebuilt when missing or older than the job's.</summary>
    private async ValueTask<SqlKeyIndex> IndexFor(ShardReadRequest request, SqlLocator locator, string place, CancellationToken cancellationToken)
    {
        var builtNow = false;
        var cached = _indexes.GetOrAdd(request.Path, _ =>
        {
            builtNow = true;
            return BuildAsync(locator, CancellationToken.None);
        });
        SqlKeyIndex index;
        try
        {
            index = await cached.WaitAsync(cancellationToken);
        }
        catch (Exception) when (cached.IsFaulted)
        {
            _indexes.TryRemove(new KeyValuePair<string, Task<SqlKeyIndex>>(request.Path, cached));
            throw;
        }

        if (index.Fingerprint != request.Expected && !builtNow && Stopwatch.GetElapsedTime(index.BuiltAt) >= options.RecheckInterval)
        {
            // Another job may have described the table since: look again (at most once per recheck interval).
            var fresh = BuildAsync(locator, CancellationToken.None);
            _indexes[request.Path] = fresh;
            index = await fresh.WaitAsync(cancellationToken);
        }

        if (index.Fingerprint == request.Expected)
        {
            return index;
        }

        var reason = index.Count != request.Expected.Length
            ? string.Create(CultureInfo.InvariantCulture, $"it holds {index.Count} rows, the job's snapshot {request.Expected.Length}")
            : "its keys are not the job's snapshot's";
        throw new SourceChangedException(place, reason);
    }

    private async Task<SqlKeyIndex> BuildAsync(SqlLocator locator, CancellationToken cancellationToken)
    {
        var dialect = dialects(locator);
        var place = dialect.Place(locator);
        try
        {
            await using var connection = await dialect.OpenAsync(locator, cancellationToken);
            var table = await dialect.LoadTableAsync(connection, locator, cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {table.QuotedKey} FROM {table.QuotedName} ORDER BY {table.QuotedKey}";
            command.CommandTimeout = 0;
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
            var stride = options.IndexStride;
            var entries = new List<object>();
            var hashes = new List<ulong>();
            var hash = new XxHash3();
            var current = new ArrayBufferWriter<byte>(64);
            var previous = new ArrayBufferWriter<byte>(64);
            long rows = 0;
            while (await reader.ReadAsync(cancellationToken))
            {
                if (await reader.IsDBNullAsync(0, cancellationToken))
                {
                    throw new SourceSpecException(
                        "source.keyColumn",
                        $"the key column '{locator.KeyColumn}' of table '{locator.Table}' ({place}) holds NULL; shards are ranges of a unique, not-null key column (source.keyColumn)");
                }

                var value = reader.GetValue(0);
                current.ResetWrittenCount();
                SqlValues.EncodeKey(value, current);
                if (rows > 0 && current.WrittenSpan.SequenceEqual(previous.WrittenSpan))
                {
                    throw new SourceSpecException(
                        "source.keyColumn",
                        $"the key column '{locator.KeyColumn}' of table '{locator.Table}' ({place}) is not unique: the value {SqlValues.Display(value)} appears more than once; shards are ranges of a unique, not-null key column (source.keyColumn)");
                }

                if (rows % stride == 0)
                {
                    if (rows > 0)
                    {
                        hashes.Add(hash.GetCurrentHashAsUInt64());
                    }

                    hash.Reset();
                    entries.Add(value);
                }

                SqlKeyIndex.AppendKey(hash, current.WrittenSpan);
                (current, previous) = (previous, current);
                rows++;
            }

            if (rows > 0)
            {
                hashes.Add(hash.GetCurrentHashAsUInt64());
            }

            return new SqlKeyIndex(table, rows, stride, [.. entries], [.. hashes]);
        }
        catch (DbException e)
        {
            throw new SqlUnavailableException($"table '{locator.Table}' of {place} cannot be scanned by its key column '{locator.KeyColumn}': {dialect.Redact(e.Message)}");
        }
    }

    /// <summary>Compares the table's row count with the index's, at most once per recheck interval.</summary>
    private async Task CheckCount(DbConnection connection, DbTransaction transaction, SqlKeyIndex index, string place, CancellationToken cancellationToken)
    {
        var last = Interlocked.Read(ref index.LastCountCheck);
        if (last != 0 && Stopwatch.GetElapsedTime(last) < options.RecheckInterval)
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT count(*) FROM {index.Table.QuotedName}";
        var rows = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        if (rows != index.Count)
        {
            throw new SourceChangedException(place, string.Create(CultureInfo.InvariantCulture, $"it holds {rows} rows, the job's snapshot {index.Count}"));
        }

        Interlocked.Exchange(ref index.LastCountCheck, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Reads the keys of the index blocks that cover <c>[start, end)</c> and checks them against the index; returns
    /// the key of row <paramref name="start"/>.
    /// </summary>
    private static async Task<object> CheckBlocks(DbConnection connection, DbTransaction transaction, SqlKeyIndex index, long start, long end, string place, CancellationToken cancellationToken)
    {
        var stride = index.Stride;
        var first = (int)(start / stride);
        var last = (int)((end - 1) / stride);
        var lower = index.Entries[first];
        var upper = last + 1 < index.Entries.Length ? index.Entries[last + 1] : null;
        var expected = Math.Min((long)(last + 1) * stride, index.Count) - (long)first * stride;
        var table = index.Table;
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {table.QuotedKey} FROM {table.QuotedName} WHERE {table.QuotedKey} >= {table.KeyParameter("lo")}"
            + (upper is null ? "" : $" AND {table.QuotedKey} < {table.KeyParameter("hi")}")
            + $" ORDER BY {table.QuotedKey}";
        SqlText.Parameter(command, "lo", lower);
        if (upper is not null)
        {
            SqlText.Parameter(command, "hi", upper);
        }

        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        var hash = new XxHash3();
        var key = new ArrayBufferWriter<byte>(64);
        object? startKey = null;
        long i = 0;
        var block = first;
        while (await reader.ReadAsync(cancellationToken))
        {
            if (i == expected)
            {
                throw Changed(place, index, lower, upper, "more rows than the job's snapshot");
            }

            if (i > 0 && i % stride == 0)
            {
                if (hash.GetCurrentHashAsUInt64() != index.BlockHashes[block])
                {
                    throw Changed(place, index, lower, upper, "other keys than the job's snapshot");
                }

                block++;
                hash.Reset();
            }

            var value = reader.GetValue(0);
            key.ResetWrittenCount();
            SqlValues.EncodeKey(value, key);
            SqlKeyIndex.AppendKey(hash, key.WrittenSpan);
            if ((long)first * stride + i == start)
            {
                startKey = value;
            }

            i++;
        }

        if (i != expected)
        {
            throw Changed(place, index, lower, upper, "fewer rows than the job's snapshot");
        }

        return hash.GetCurrentHashAsUInt64() == index.BlockHashes[block]
            ? startKey!
            : throw Changed(place, index, lower, upper, "other keys than the job's snapshot");
    }

    private static SourceChangedException Changed(string place, SqlKeyIndex index, object lower, object? upper, string what) =>
        new(place, $"the rows with {index.Table.Key.Name} >= {SqlValues.Display(lower)}{(upper is null ? "" : $" and < {SqlValues.Display(upper)}")} hold {what}");

    private static async Task<RecordBatch> ReadRows(
        DbConnection connection, DbTransaction transaction, SqlTable table, object startKey, int count, SqlColumn[] columns, string[] names, string place, string kind, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {string.Join(", ", columns.Select(c => SqlText.Quote(c.Name)))} FROM {table.QuotedName}"
            + $" WHERE {table.QuotedKey} >= {table.KeyParameter("start")} ORDER BY {table.QuotedKey} LIMIT @count";
        SqlText.Parameter(command, "start", startKey);
        SqlText.Parameter(command, "count", count);
        using var builder = new JsonRowBatchBuilder(count, Math.Min(count, 1 << 20) * (16 + 24 * columns.Length), names, withCells: true);
        using var values = new SqlValues.ValueWriter();
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        var rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            builder.BeginRecord();
            for (var c = 0; c < columns.Length; c++)
            {
                builder.AddRawValue(c, values.Write(reader, c, columns[c]));
            }

            builder.EndRecord();
            rows++;
        }

        if (rows != count)
        {
            throw new SourceChangedException(place, string.Create(CultureInfo.InvariantCulture, $"{rows} rows were found where the job's snapshot has {count}"));
        }

        return new SqlRecordBatch(builder.Build(place, names, JsonRowBatch.CellKind.RawValues), names, kind, columns);
    }

    /// <summary>The table's columns a request asks for (all, in table order, when it names none) and their output names.</summary>
    private static (SqlColumn[] Columns, string[] Names) Project(SqlTable table, IReadOnlyList<string>? requested, string place)
    {
        if (requested is null)
        {
            return ([.. table.Columns], [.. table.Columns.Select(c => c.Name)]);
        }

        var columns = new SqlColumn[requested.Count];
        for (var i = 0; i < requested.Count; i++)
        {
            columns[i] = SqlTable.Find(table.Columns, requested[i])
                ?? throw new ArgumentException($"{place}: the table has no column '{requested[i]}'; it has {string.Join(", ", table.Columns.Select(c => c.Name))}");
        }

        return (columns, [.. requested]);
    }
}

/// <summary>A batch of table rows: every record has the same columns.</summary>
/// <param name="cells">The rows' cells.</param>
/// <param name="columns">The output names of the columns.</param>
/// <param name="kind">sqlite or postgres, for the meaning of the column types.</param>
/// <param name="types">The table's columns (names and declared types) in output order.</param>
internal sealed class SqlRecordBatch(JsonRowBatch cells, string[] columns, string kind, SqlColumn[] types) : RecordBatch
{
    /// <summary>The rows as Arrow columns typed from the declared column types (<see cref="SqlArrow"/>).</summary>
    public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows) => SqlArrow.Build(cells, kind, types, columns, rows);

    public override int Count => cells.Count;

    public override IReadOnlyList<string>? ColumnNames => columns;

    public override void WriteRecord(Utf8JsonWriter writer, int row) => cells.WriteRecord(writer, row);

    public override string? GetText(int row, string column) => cells.GetText(row, column);

    public override void Dispose()
    {
        cells.Dispose();
        base.Dispose();
    }
}
