namespace OrleansShards.Readers.Objects;

/// <summary>An object store could not do what was asked; names the store, container and key, never a credential.</summary>
public class ObjectStoreException(string message, Exception? inner = null) : IOException(message, inner);
