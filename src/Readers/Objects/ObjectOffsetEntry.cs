namespace OrleansShards.Readers.Objects;

/// <summary>One object of a partition as its offset entry: its key and version, and where its records lie in the partition.</summary>
/// <param name="Key">The object's key.</param>
/// <param name="ETag">The version the job pinned.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="FirstRecord">The partition offset of its first record.</param>
/// <param name="Records">How many records it holds.</param>
public sealed record ObjectOffsetEntry(string Key, string ETag, long Size, long FirstRecord, long Records);
