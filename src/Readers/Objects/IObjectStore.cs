namespace OrleansShards.Readers.Objects;

/// <summary>One object of a bucket or container as a listing shows it.</summary>
/// <param name="Key">The object's key (blob name).</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="ETag">Its entity tag without quotes (stores quote it in some answers and not in others); a re-uploaded object gets another.</param>
public sealed record ObjectInfo(string Key, long Size, string ETag)
{
    /// <summary>An ETag as stores send it (<c>"abc"</c>, <c>W/"abc"</c> or <c>abc</c>) without its quotes.</summary>
    public static string NormalizeETag(string? etag)
    {
        var value = etag ?? "";
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        return value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
    }

    /// <summary>The ETag quoted, as an <c>If-Match</c> header wants it.</summary>
    public string QuotedETag => $"\"{ETag}\"";
}

/// <summary>
/// The little of an object store that sources need: list objects under a prefix, look one up, and open a read stream
/// at an offset (a ranged GET) that fails when the object is no longer the version the caller pinned.
/// </summary>
/// <remarks>Implementations hold their credentials; nothing they throw carries a secret.</remarks>
public interface IObjectStore
{
    /// <summary>The objects of <paramref name="container"/> whose keys start with <paramref name="prefix"/>, in the store's order.</summary>
    /// <exception cref="ObjectStoreException">The bucket or container cannot be listed.</exception>
    IAsyncEnumerable<ObjectInfo> ListAsync(string container, string prefix, CancellationToken cancellationToken = default);

    /// <summary>The object <paramref name="key"/> of <paramref name="container"/> as it is now, or <see langword="null"/> when there is none.</summary>
    /// <exception cref="ObjectStoreException">The store cannot be asked.</exception>
    Task<ObjectInfo?> HeadAsync(string container, string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the bytes of <paramref name="expected"/> from <paramref name="offset"/> to its end as a stream that is read
    /// as it arrives (never buffered whole), on condition that the object still has <see cref="ObjectInfo.ETag"/>.
    /// </summary>
    /// <exception cref="ObjectVersionException">The object no longer exists or has another ETag.</exception>
    /// <exception cref="ObjectStoreException">The object cannot be read.</exception>
    Task<Stream> OpenReadAsync(string container, ObjectInfo expected, long offset = 0, CancellationToken cancellationToken = default);
}

/// <summary>An object store could not do what was asked; names the store, container and key, never a credential.</summary>
public class ObjectStoreException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>An object is gone, or is not the version (ETag) that was pinned.</summary>
public sealed class ObjectVersionException(string message, string? currentETag) : ObjectStoreException(message)
{
    /// <summary>The object's ETag now, or <see langword="null"/> when it no longer exists (or the store did not say).</summary>
    public string? CurrentETag { get; } = currentETag;
}
