namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// A failure of <see cref="SqliteGrainStorage"/> (a <see cref="GrainStorageException"/>) other than an ETag conflict: the message names the database file and,
/// for grain operations, the grain type and grain id; the inner exception, where there is one, carries SQLite's own error.
/// </summary>
[GenerateSerializer]
public sealed class SqliteStorageException : GrainStorageException
{
    /// <summary>Creates an exception with no message.</summary>
    public SqliteStorageException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public SqliteStorageException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public SqliteStorageException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
