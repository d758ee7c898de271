namespace OrleansShards.Readers;

/// <summary>A request to read the records <c>[Start, End)</c> of one file.</summary>
/// <param name="Path">The absolute path of the file.</param>
/// <param name="Expected">The fingerprint pinned when the job was created.</param>
/// <param name="Start">The index of the first record to read.</param>
/// <param name="End">One past the index of the last record to read.</param>
/// <param name="Columns">The columns to return, in this order; <see langword="null"/> for all.</param>
/// <param name="Limit">At most this many records; <see langword="null"/> for all of the range.</param>
/// <param name="MaxBytes">
/// For a page: stop after about this many bytes of records (always at least one record), so a page of large records
/// stays bounded; the batch then holds fewer records than asked and the caller reads on from there. Readers of
/// records with no size bound of their own (topics) honour it; <see langword="null"/> for the whole range.
/// </param>
public sealed record ShardReadRequest(string Path, FileFingerprint Expected, long Start, long End, IReadOnlyList<string>? Columns = null, int? Limit = null, long? MaxBytes = null);
