namespace OrleansShards.Readers.Objects;

/// <summary>How far a partition offset reached into one object: its key and the records of it read (both 64-bit counts).</summary>
/// <param name="Key">The object's key.</param>
/// <param name="RecordsRead">Records of the object below the offset.</param>
/// <param name="Complete">Whether every record of the object lies below the offset.</param>
public sealed record ObjectProgress(string Key, long RecordsRead, bool Complete);
