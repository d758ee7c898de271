namespace OrleansShards.Readers.Csv;

/// <summary>The type a CSV column's values are read as (<c>source.columns</c> of a csv job).</summary>
public enum CsvValueType
{
    /// <summary>Text, as written: a JSON string, an Arrow <c>utf8</c> column (every column without a declared type).</summary>
    String,

    /// <summary>A 64-bit integer: a JSON number, an Arrow <c>int64</c> column.</summary>
    Int64,

    /// <summary>A finite 64-bit floating-point number: a JSON number, an Arrow <c>double</c> column.</summary>
    Float64,

    /// <summary><c>true</c> or <c>false</c> (any case): a JSON boolean, an Arrow <c>bool</c> column.</summary>
    Bool,
}
