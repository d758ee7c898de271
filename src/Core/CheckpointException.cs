namespace OrleansShards.Core;

/// <summary>A checkpoint that cannot be read or does not hold together; names the place and the reason.</summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException(string field, string message)
        : base(message) => Field = field;

    /// <summary>Creates an exception with a message.</summary>
    public CheckpointException()
        : this("checkpoint", "the checkpoint is invalid")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public CheckpointException(string message)
        : this("checkpoint", message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public CheckpointException(string message, Exception innerException)
        : base(message, innerException) => Field = "checkpoint";

    /// <summary>The place at fault, for example <c>todo.requeued[2]</c>.</summary>
    public string Field { get; }
}
