namespace OrleansShards.Providers;

/// <summary>
/// A failure of one of our grain storage providers other than an ETag conflict (which is Orleans'
/// <see cref="Orleans.Storage.InconsistentStateException"/>): the store could not be reached, refused the operation or
/// holds data that cannot be read. The message names the provider, the store and, for grain operations, the grain type
/// and grain id; the inner exception carries the store's own error.
/// </summary>
[GenerateSerializer]
public class GrainStorageException : Exception
{
    /// <summary>Creates an exception with no message.</summary>
    public GrainStorageException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public GrainStorageException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public GrainStorageException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
