namespace OrleansShards.Providers.LogStore;

/// <summary>The database of a log store could not be reached or refused a statement; the message names the store.</summary>
public sealed class LogStoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LogStoreUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
