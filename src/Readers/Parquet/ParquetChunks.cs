using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Parquet.Data;

namespace OrleansShards.Readers.Parquet;

/// <summary>
/// One column chunk of one row group, decoded once: its dense values, and where each row's value (or values, for a
/// list) lies among them. Shared by the batches that read its rows and by <see cref="ParquetChunkCache"/>, with a
/// reference count: the last one to let go returns the buffers.
/// </summary>
internal abstract class ParquetChunk
{
    private int _refs = 1;

    /// <summary>Rows in the chunk (the row group's row count).</summary>
    public int Rows { get; protected init; }

    /// <summary>An estimate of the memory the chunk holds, for the cache's budget.</summary>
    public long Bytes { get; protected init; }

    /// <summary>Takes a reference; false when the chunk was already freed.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var refs = Volatile.Read(ref _refs);
            if (refs <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _refs, refs + 1, refs) == refs)
            {
                return true;
            }
        }
    }

    /// <summary>Drops a reference; the last one frees the buffers.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            Free();
        }
    }

    protected abstract void Free();

    /// <summary>Writes the property <paramref name="name"/> with the value of <paramref name="row"/>.</summary>
    public abstract void Write(Utf8JsonWriter writer, JsonEncodedText name, int row);

    /// <summary>The value of <paramref name="row"/> as text (a list as its JSON), or null.</summary>
    public abstract string? GetText(int row);

    /// <summary>
    /// Appends the value of <paramref name="row"/> to a builder made by <see cref="ParquetArrow.CreateBuilder"/> for
    /// this chunk's column: the leaf type's builder, or for a list column a <see cref="Apache.Arrow.ListArray.Builder"/>.
    /// </summary>
    public abstract void AppendArrow(Apache.Arrow.IArrowArrayBuilder builder, int row);

    /// <summary>Appends the values of rows <c>[first, first + count)</c>, as <see cref="AppendArrow(Apache.Arrow.IArrowArrayBuilder, int)"/> does each.</summary>
    public abstract void AppendArrow(Apache.Arrow.IArrowArrayBuilder builder, int first, int count);

    /// <summary>Builds the chunk of a column read raw (dense values, definition and repetition levels).</summary>
    /// <exception cref="InvalidDataException">The levels and values do not agree with each other or with the row count.</exception>
    public static ParquetChunk Create(RawColumnData raw, ParquetColumnPlan plan, int rows, long uncompressedBytes) => raw switch
    {
        RawColumnData<bool> r => new ParquetChunk<bool>(r, plan, rows, uncompressedBytes),
        RawColumnData<sbyte> r => new ParquetChunk<sbyte>(r, plan, rows, uncompressedBytes),
        RawColumnData<byte> r => new ParquetChunk<byte>(r, plan, rows, uncompressedBytes),
        RawColumnData<short> r => new ParquetChunk<short>(r, plan, rows, uncompressedBytes),
        RawColumnData<ushort> r => new ParquetChunk<ushort>(r, plan, rows, uncompressedBytes),
        RawColumnData<int> r => new ParquetChunk<int>(r, plan, rows, uncompressedBytes),
        RawColumnData<uint> r => new ParquetChunk<uint>(r, plan, rows, uncompressedBytes),
        RawColumnData<long> r => new ParquetChunk<long>(r, plan, rows, uncompressedBytes),
        RawColumnData<ulong> r => new ParquetChunk<ulong>(r, plan, rows, uncompressedBytes),
        RawColumnData<Half> r => new ParquetChunk<Half>(r, plan, rows, uncompressedBytes),
        RawColumnData<float> r => new ParquetChunk<float>(r, plan, rows, uncompressedBytes),
        RawColumnData<double> r => new ParquetChunk<double>(r, plan, rows, uncompressedBytes),
        RawColumnData<decimal> r => new ParquetChunk<decimal>(r, plan, rows, uncompressedBytes),
        RawColumnData<BigInteger> r => new ParquetChunk<BigInteger>(r, plan, rows, uncompressedBytes),
        RawColumnData<DateTime> r => new ParquetChunk<DateTime>(r, plan, rows, uncompressedBytes),
        RawColumnData<DateOnly> r => new ParquetChunk<DateOnly>(r, plan, rows, uncompressedBytes),
        RawColumnData<TimeOnly> r => new ParquetChunk<TimeOnly>(r, plan, rows, uncompressedBytes),
        RawColumnData<TimeSpan> r => new ParquetChunk<TimeSpan>(r, plan, rows, uncompressedBytes),
        RawColumnData<Guid> r => new ParquetChunk<Guid>(r, plan, rows, uncompressedBytes),
        RawColumnData<ReadOnlyMemory<char>> r => new ParquetChunk<ReadOnlyMemory<char>>(r, plan, rows, uncompressedBytes),
        RawColumnData<ReadOnlyMemory<byte>> r => new ParquetChunk<ReadOnlyMemory<byte>>(r, plan, rows, uncompressedBytes),
        _ => throw new InvalidDataException($"column '{plan.Name}' decodes to {raw.GetType().GenericTypeArguments.FirstOrDefault()?.Name ?? raw.GetType().Name}, which the reader cannot write as JSON"),
    };

    /// <summary>The CLR types of values that <see cref="Create"/> handles.</summary>
    public static readonly IReadOnlySet<Type> SupportedTypes = new HashSet<Type>
    {
        typeof(bool), typeof(sbyte), typeof(byte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long),
        typeof(ulong), typeof(Half), typeof(float), typeof(double), typeof(decimal), typeof(BigInteger), typeof(DateTime),
        typeof(DateOnly), typeof(TimeOnly), typeof(TimeSpan), typeof(Guid), typeof(ReadOnlyMemory<char>), typeof(ReadOnlyMemory<byte>),
    };
}

/// <summary>A decoded chunk of values of type <typeparamref name="T"/>.</summary>
internal sealed class ParquetChunk<T> : ParquetChunk
    where T : struct
{
    private const int EmptyList = -2;
    private const int NullList = -3;

    private RawColumnData<T>? _raw;
    private T[] _values;

    /// <summary>Flat nullable column: the dense value of each row, or -1 for null. Null when every row has a value.</summary>
    private int[]? _rowValue;

    /// <summary>List column: where each row's levels start (Rows + 1 entries).</summary>
    private int[]? _rowLevels;

    /// <summary>List column: per level, the dense value, -1 for a null element, <see cref="EmptyList"/> or <see cref="NullList"/>.</summary>
    private int[]? _levelValue;

    public ParquetChunk(RawColumnData<T> raw, ParquetColumnPlan plan, int rows, long uncompressedBytes)
    {
        Rows = rows;
        var values = raw.Values;
        var pooled = new List<int[]>(2);
        try
        {
            int valueCount;
            if (plan.IsList)
            {
                var defs = raw.DefinitionLevels;
                var reps = raw.RepetitionLevels;
                if (defs.Length != reps.Length)
                {
                    throw new InvalidDataException($"column '{plan.Name}' has {defs.Length} definition levels and {reps.Length} repetition levels");
                }

                var levels = defs.Length;
                _rowLevels = Rent(rows + 1, pooled);
                _levelValue = Rent(Math.Max(1, levels), pooled);
                var row = -1;
                valueCount = 0;
                for (var i = 0; i < levels; i++)
                {
                    if (reps[i] == 0)
                    {
                        if (++row >= rows)
                        {
                            throw new InvalidDataException($"column '{plan.Name}' holds more than the row group's {rows} rows");
                        }

                        _rowLevels[row] = i;
                    }
                    else if (row < 0)
                    {
                        throw new InvalidDataException($"column '{plan.Name}' starts with a repetition level of {reps[i]}");
                    }

                    var d = defs[i];
                    _levelValue[i] = d == plan.MaxDefinitionLevel ? valueCount++
                        : d >= plan.EntryDefinitionLevel ? -1
                        : d == plan.EntryDefinitionLevel - 1 ? EmptyList
                        : NullList;
                }

                if (row != rows - 1)
                {
                    throw new InvalidDataException($"column '{plan.Name}' holds {row + 1} rows; the row group has {rows}");
                }

                _rowLevels[rows] = levels;
                Bytes = levels * 4L + rows * 4L;
            }
            else if (plan.MaxDefinitionLevel > 0)
            {
                var defs = raw.DefinitionLevels;
                if (defs.Length < rows)
                {
                    throw new InvalidDataException($"column '{plan.Name}' has {defs.Length} definition levels for {rows} rows");
                }

                _rowValue = Rent(Math.Max(1, rows), pooled);
                valueCount = 0;
                var max = plan.MaxDefinitionLevel;
                for (var r = 0; r < rows; r++)
                {
                    _rowValue[r] = defs[r] == max ? valueCount++ : -1;
                }

                Bytes = rows * 4L;
            }
            else
            {
                valueCount = rows;
            }

            if (values.Length < valueCount)
            {
                throw new InvalidDataException($"column '{plan.Name}' has {values.Length} values where its levels call for {valueCount}");
            }

            _values = ArrayPool<T>.Shared.Rent(Math.Max(1, valueCount));
            values[..valueCount].CopyTo(_values);
            Bytes += (long)valueCount * Unsafe.SizeOf<T>() + (typeof(T) == typeof(ReadOnlyMemory<char>) ? 2 * uncompressedBytes
                : typeof(T) == typeof(ReadOnlyMemory<byte>) ? uncompressedBytes : 0);
        }
        catch
        {
            foreach (var array in pooled)
            {
                ArrayPool<int>.Shared.Return(array);
            }

            raw.Dispose();
            throw;
        }

        // Strings and byte arrays point into buffers the raw data owns: it is kept until the chunk is freed.
        _raw = typeof(T) == typeof(ReadOnlyMemory<char>) || typeof(T) == typeof(ReadOnlyMemory<byte>) ? raw : null;
        if (_raw is null)
        {
            raw.Dispose();
        }
    }

    private static int[] Rent(int length, List<int[]> pooled)
    {
        var array = ArrayPool<int>.Shared.Rent(length);
        pooled.Add(array);
        return array;
    }

    protected override void Free()
    {
        ArrayPool<T>.Shared.Return(_values, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        _values = [];
        foreach (var array in new[] { _rowValue, _rowLevels, _levelValue })
        {
            if (array is not null)
            {
                ArrayPool<int>.Shared.Return(array);
            }
        }

        _rowValue = _rowLevels = _levelValue = null;
        _raw?.Dispose();
        _raw = null;
    }

    public override void Write(Utf8JsonWriter writer, JsonEncodedText name, int row)
    {
        if (_rowLevels is not null)
        {
            writer.WritePropertyName(name);
            WriteList(writer, row);
            return;
        }

        var i = _rowValue is null ? row : _rowValue[row];
        if (i < 0)
        {
            writer.WriteNull(name);
            return;
        }

        ref var value = ref _values[i];
        if (typeof(T) == typeof(long))
        {
            writer.WriteNumber(name, Unsafe.As<T, long>(ref value));
        }
        else if (typeof(T) == typeof(int))
        {
            writer.WriteNumber(name, Unsafe.As<T, int>(ref value));
        }
        else if (typeof(T) == typeof(ReadOnlyMemory<char>))
        {
            writer.WriteString(name, Unsafe.As<T, ReadOnlyMemory<char>>(ref value).Span);
        }
        else if (typeof(T) == typeof(bool))
        {
            writer.WriteBoolean(name, Unsafe.As<T, bool>(ref value));
        }
        else
        {
            writer.WritePropertyName(name);
            WriteValue(writer, ref value);
        }
    }

    private void WriteList(Utf8JsonWriter writer, int row)
    {
        var first = _rowLevels![row];
        var end = _rowLevels[row + 1];
        var code = _levelValue![first];
        if (code == NullList)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartArray();
        if (code != EmptyList)
        {
            for (var l = first; l < end; l++)
            {
                var i = _levelValue[l];
                if (i < 0)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    WriteValue(writer, ref _values[i]);
                }
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteValue(Utf8JsonWriter writer, ref T value)
    {
        if (typeof(T) == typeof(long))
        {
            writer.WriteNumberValue(Unsafe.As<T, long>(ref value));
        }
        else if (typeof(T) == typeof(int))
        {
            writer.WriteNumberValue(Unsafe.As<T, int>(ref value));
        }
        else if (typeof(T) == typeof(double))
        {
            WriteFloating(writer, Unsafe.As<T, double>(ref value));
        }
        else if (typeof(T) == typeof(float))
        {
            var f = Unsafe.As<T, float>(ref value);
            if (float.IsFinite(f))
            {
                writer.WriteNumberValue(f);
            }
            else
            {
                WriteFloating(writer, f);
            }
        }
        else if (typeof(T) == typeof(Half))
        {
            var h = Unsafe.As<T, Half>(ref value);
            if (Half.IsFinite(h))
            {
                Span<byte> buffer = stackalloc byte[32];
                h.TryFormat(buffer, out var written, "R", CultureInfo.InvariantCulture);
                writer.WriteRawValue(buffer[..written], skipInputValidation: true);
            }
            else
            {
                WriteFloating(writer, (double)h);
            }
        }
        else if (typeof(T) == typeof(ReadOnlyMemory<char>))
        {
            writer.WriteStringValue(Unsafe.As<T, ReadOnlyMemory<char>>(ref value).Span);
        }
        else if (typeof(T) == typeof(ReadOnlyMemory<byte>))
        {
            writer.WriteBase64StringValue(Unsafe.As<T, ReadOnlyMemory<byte>>(ref value).Span);
        }
        else if (typeof(T) == typeof(bool))
        {
            writer.WriteBooleanValue(Unsafe.As<T, bool>(ref value));
        }
        else if (typeof(T) == typeof(sbyte))
        {
            writer.WriteNumberValue(Unsafe.As<T, sbyte>(ref value));
        }
        else if (typeof(T) == typeof(byte))
        {
            writer.WriteNumberValue(Unsafe.As<T, byte>(ref value));
        }
        else if (typeof(T) == typeof(short))
        {
            writer.WriteNumberValue(Unsafe.As<T, short>(ref value));
        }
        else if (typeof(T) == typeof(ushort))
        {
            writer.WriteNumberValue(Unsafe.As<T, ushort>(ref value));
        }
        else if (typeof(T) == typeof(uint))
        {
            writer.WriteNumberValue(Unsafe.As<T, uint>(ref value));
        }
        else if (typeof(T) == typeof(ulong))
        {
            writer.WriteNumberValue(Unsafe.As<T, ulong>(ref value));
        }
        else if (typeof(T) == typeof(decimal))
        {
            writer.WriteNumberValue(Unsafe.As<T, decimal>(ref value));
        }
        else if (typeof(T) == typeof(DateTime))
        {
            writer.WriteStringValue(Unsafe.As<T, DateTime>(ref value));
        }
        else if (typeof(T) == typeof(Guid))
        {
            writer.WriteStringValue(Unsafe.As<T, Guid>(ref value));
        }
        else
        {
            // BigInteger is a number; dates and times without a JSON form of their own are ISO 8601 strings.
            var text = Text(ref value);
            if (typeof(T) == typeof(BigInteger))
            {
                writer.WriteRawValue(text, skipInputValidation: true);
            }
            else
            {
                writer.WriteStringValue(text);
            }
        }
    }

    /// <summary>JSON has no NaN or infinities: they are written as the strings "NaN", "Infinity" and "-Infinity".</summary>
    private static void WriteFloating(Utf8JsonWriter writer, double d)
    {
        if (double.IsFinite(d))
        {
            writer.WriteNumberValue(d);
        }
        else
        {
            writer.WriteStringValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        }
    }

    public override void AppendArrow(Apache.Arrow.IArrowArrayBuilder builder, int first, int count)
    {
        var end = first + count;
        if (_rowLevels is null && _rowValue is null)
        {
            // Every row has a value: one tight loop, the type's branch chosen by the JIT.
            var values = _values;
            for (var row = first; row < end; row++)
            {
                ParquetArrow.Append(builder, ref values[row]);
            }

            return;
        }

        for (var row = first; row < end; row++)
        {
            AppendArrow(builder, row);
        }
    }

    public override void AppendArrow(Apache.Arrow.IArrowArrayBuilder builder, int row)
    {
        if (_rowLevels is not null)
        {
            var list = (Apache.Arrow.ListArray.Builder)builder;
            var first = _rowLevels[row];
            var end = _rowLevels[row + 1];
            var code = _levelValue![first];
            if (code == NullList)
            {
                list.AppendNull();
                return;
            }

            list.Append();
            if (code != EmptyList)
            {
                var items = list.ValueBuilder;
                for (var l = first; l < end; l++)
                {
                    var i = _levelValue[l];
                    if (i < 0)
                    {
                        ParquetArrow.AppendNull<T>(items);
                    }
                    else
                    {
                        ParquetArrow.Append(items, ref _values[i]);
                    }
                }
            }

            return;
        }

        var index = _rowValue is null ? row : _rowValue[row];
        if (index < 0)
        {
            ParquetArrow.AppendNull<T>(builder);
        }
        else
        {
            ParquetArrow.Append(builder, ref _values[index]);
        }
    }

    public override string? GetText(int row)
    {
        if (_rowLevels is not null)
        {
            if (_levelValue![_rowLevels[row]] == NullList)
            {
                return null;
            }

            var buffer = new ArrayBufferWriter<byte>(64);
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                WriteList(writer, row);
            }

            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        var i = _rowValue is null ? row : _rowValue[row];
        return i < 0 ? null : Text(ref _values[i]);
    }

    private static string Text(ref T value)
    {
        var c = CultureInfo.InvariantCulture;
        if (typeof(T) == typeof(ReadOnlyMemory<char>))
        {
            return Unsafe.As<T, ReadOnlyMemory<char>>(ref value).ToString();
        }

        if (typeof(T) == typeof(ReadOnlyMemory<byte>))
        {
            return Convert.ToBase64String(Unsafe.As<T, ReadOnlyMemory<byte>>(ref value).Span);
        }

        if (typeof(T) == typeof(bool))
        {
            return Unsafe.As<T, bool>(ref value) ? "true" : "false";
        }

        if (typeof(T) == typeof(DateTime))
        {
            return Unsafe.As<T, DateTime>(ref value).ToString("O", c);
        }

        if (typeof(T) == typeof(DateOnly))
        {
            return Unsafe.As<T, DateOnly>(ref value).ToString("yyyy-MM-dd", c);
        }

        if (typeof(T) == typeof(TimeOnly))
        {
            return Unsafe.As<T, TimeOnly>(ref value).ToString("HH:mm:ss.FFFFFFF", c);
        }

        if (typeof(T) == typeof(TimeSpan))
        {
            return Unsafe.As<T, TimeSpan>(ref value).ToString("c", c);
        }

        if (typeof(T) == typeof(double))
        {
            var d = Unsafe.As<T, double>(ref value);
            return double.IsFinite(d) ? d.ToString("R", c) : double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        }

        if (typeof(T) == typeof(float))
        {
            var f = Unsafe.As<T, float>(ref value);
            return float.IsFinite(f) ? f.ToString("R", c) : float.IsNaN(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity";
        }

        return value is IFormattable formattable ? formattable.ToString(null, c) : value.ToString()!;
    }
}

/// <summary>What the reader knows of one column of a file: its name and how its levels map to rows.</summary>
/// <param name="Name">The top-level field's name (for a list, the list's).</param>
/// <param name="DataFieldIndex">The index of its leaf among the schema's data fields.</param>
/// <param name="IsList">A list of primitive values (one repetition level).</param>
/// <param name="MaxDefinitionLevel">The definition level of a present value.</param>
/// <param name="EntryDefinitionLevel">For a list, the definition level from which a list entry exists (a null element below the max).</param>
internal sealed record ParquetColumnPlan(string Name, int DataFieldIndex, bool IsList, int MaxDefinitionLevel, int EntryDefinitionLevel)
{
    /// <summary>The Arrow type of the column's values (for a list, of its items), from the Parquet schema.</summary>
    public Apache.Arrow.Types.IArrowType ArrowValueType { get; init; } = Apache.Arrow.Types.StringType.Default;

    /// <summary>Arrow field metadata of the column, or <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, string>? ArrowMetadata { get; init; }

    /// <summary>The property name, encoded once.</summary>
    public JsonEncodedText JsonName { get; } = JsonEncodedText.Encode(Name, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
}

/// <summary>
/// The decoded column chunks of recent reads, within a memory budget, least recently used first out. Concurrent
/// reads of the same chunk share one decode. A chunk evicted while batches still hold it is freed when the last
/// batch is disposed.
/// </summary>
internal sealed class ParquetChunkCache(long budgetBytes)
{
    internal readonly record struct Key(string Path, long Length, long LastWriteTimeUtcTicks, int RowGroup, int Column);

    private sealed class Node(Key key)
    {
        public Key Key { get; } = key;
        public TaskCompletionSource<ParquetChunk> Decoded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Node>? Lru { get; set; }

        /// <summary>The decoded chunk, set (under the lock) before the node enters the LRU list.</summary>
        public ParquetChunk? Chunk { get; set; }
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<Key, Node> _map = [];
    private readonly LinkedList<Node> _lru = new();
    private long _bytes;
    private long _decodes;

    /// <summary>How many chunks were decoded (cache misses).</summary>
    public long Decodes => Interlocked.Read(ref _decodes);

    /// <summary>The chunk of <paramref name="key"/>, with a reference taken for the caller (who releases it).</summary>
    public async ValueTask<ParquetChunk> GetAsync(Key key, Func<Task<ParquetChunk>> decode, CancellationToken cancellationToken)
    {
        while (true)
        {
            Node node;
            var owner = false;
            lock (_gate)
            {
                if (_map.TryGetValue(key, out node!))
                {
                    if (node.Lru is { } lru)
                    {
                        _lru.Remove(lru);
                        _lru.AddFirst(lru);
                    }
                }
                else
                {
                    node = new Node(key);
                    _map.Add(key, node);
                    owner = true;
                }
            }

            if (owner)
            {
                ParquetChunk chunk;
                try
                {
                    Interlocked.Increment(ref _decodes);
                    chunk = await decode().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    lock (_gate)
                    {
                        _map.Remove(key);
                    }

                    node.Decoded.SetException(e);
                    _ = node.Decoded.Task.Exception; // observed: waiters see it, nobody else must
                    throw;
                }

                // The caller's reference, taken before the chunk can be evicted.
                chunk.TryAcquire();
                lock (_gate)
                {
                    node.Chunk = chunk;
                    node.Lru = _lru.AddFirst(node);
                    _bytes += chunk.Bytes;
                    Evict();
                }

                node.Decoded.SetResult(chunk);
                return chunk;
            }

            var shared = await node.Decoded.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (shared.TryAcquire())
            {
                return shared;
            }

            // Evicted and freed in between: decode again.
        }
    }

    private void Evict()
    {
        while (_bytes > budgetBytes && _lru.Last is { } last)
        {
            var node = last.Value;
            _lru.RemoveLast();
            node.Lru = null;
            _map.Remove(node.Key);
            var chunk = node.Chunk!;
            _bytes -= chunk.Bytes;
            chunk.Release();
        }
    }

    /// <summary>Drops every chunk of <paramref name="path"/> that is not of the given length and modification time.</summary>
    public void ForgetOtherVersions(string path, long length, long lastWriteTimeUtcTicks)
    {
        lock (_gate)
        {
            for (var n = _lru.First; n is not null;)
            {
                var next = n.Next;
                var key = n.Value.Key;
                if (key.Path == path && (key.Length != length || key.LastWriteTimeUtcTicks != lastWriteTimeUtcTicks))
                {
                    _lru.Remove(n);
                    n.Value.Lru = null;
                    _map.Remove(key);
                    var chunk = n.Value.Chunk!;
                    _bytes -= chunk.Bytes;
                    chunk.Release();
                }

                n = next;
            }
        }
    }
}
