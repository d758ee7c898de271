namespace OrleansShards.Readers.Objects;

/// <summary>An object is gone, or is not the version (ETag) that was pinned.</summary>
public sealed class ObjectVersionException(string message, string? currentETag) : ObjectStoreException(message)
{
    /// <summary>The object's ETag now, or <see langword="null"/> when it no longer exists (or the store did not say).</summary>
    public string? CurrentETag { get; } = currentETag;
}
