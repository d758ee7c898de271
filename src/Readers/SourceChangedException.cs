namespace OrleansShards.Readers;

/// <summary>A file changed after the job pinned its fingerprint.</summary>
public sealed class SourceChangedException(string path, string reason)
    : IOException($"{path}: the file changed since the job was created ({reason}); its shards cannot be read without serving shifted records")
{
    /// <summary>The file that changed.</summary>
    public string Path { get; } = path;
}
