namespace OrleansShards.Readers;

/// <summary>
/// What a job pins of a file when it is created, so that a file changed under a running job is
/// detected instead of serving shifted records.
/// </summary>
/// <param name="Length">The file's size in bytes.</param>
/// <param name="LastWriteTimeUtcTicks">The file's modification time, UTC ticks.</param>
/// <param name="ContentHash">XxHash3 of the file's bytes.</param>
public sealed record FileFingerprint(long Length, long LastWriteTimeUtcTicks, ulong ContentHash);
