namespace OrleansShards.Readers;

/// <summary>One file (a partition) as a reader sees it.</summary>
/// <param name="Path">The absolute path of the file.</param>
/// <param name="RecordCount">The number of records in the file (a CSV header is not a record).</param>
/// <param name="Fingerprint">The file's fingerprint when it was described.</param>
/// <param name="Columns">
/// The column names known up front: for CSV the header (or <c>c0</c>, <c>c1</c>, ... without one); for JSON Lines the
/// property names of the first record, in their order (later records may have others; empty when the file has no
/// records or its first record is not a JSON object).
/// </param>
public sealed record PartitionDescription(string Path, long RecordCount, FileFingerprint Fingerprint, IReadOnlyList<string> Columns);
