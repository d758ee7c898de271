namespace OrleansShards.Readers.Csv;

/// <summary>How <see cref="CsvPartitionReader"/> reads its files.</summary>
public sealed record CsvReaderOptions
{
    /// <summary>Whether the first record names the columns. Without a header the columns are named c0, c1, ...</summary>
    public bool Header { get; init; } = true;

    /// <summary>The field delimiter, an ASCII character other than the quote.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>
    /// Whether every quoting problem makes a record malformed: a quote inside an unquoted field (<c>5" tall</c>) and
    /// text after a closing quote (<c>"ab"c</c>). Off by default: such fields are read as the parser recovers them
    /// (<c>5" tall</c>, <c>abc</c>). A quoted field that is never closed is always malformed.
    /// </summary>
    public bool StrictQuotes { get; init; }

    /// <summary>
    /// Types of columns by name (<c>source.columns</c>); a column not named is text. Values of a typed column come as
    /// JSON numbers or booleans and typed Arrow columns; an empty value is null; a value that does not parse makes its
    /// record malformed, naming the file, the record and the column.
    /// </summary>
    public IReadOnlyDictionary<string, CsvValueType>? ColumnTypes { get; init; }

    /// <summary>The sparse index keeps the byte offset of every <c>IndexStride</c>-th record.</summary>
    public int IndexStride { get; init; } = 1024;

    /// <summary>The most bytes one read may take from the file (1 GiB): past it the read fails, naming the file and the records.</summary>
    public long MaxReadBytes { get; init; } = int.MaxValue / 2;
}
