namespace OrleansShards.Core.Sources;

/// <summary>The options of a source of files under the data roots.</summary>
/// <param name="Paths">File paths or glob patterns, relative to the server's data directory.</param>
/// <param name="Header">CSV: whether the first row names the columns.</param>
/// <param name="Delimiter">CSV: the field delimiter.</param>
/// <param name="ColumnTypes">csv: declared column types by name (<c>source.columns</c>), or null.</param>
public sealed record FileSourceSpec(IReadOnlyList<string> Paths, bool Header, char Delimiter, IReadOnlyDictionary<string, string>? ColumnTypes = null);
