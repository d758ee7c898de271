namespace OrleansShards.Readers.Objects;

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
