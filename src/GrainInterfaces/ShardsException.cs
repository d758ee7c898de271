using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>
/// A failure a caller can act on: it names the field or place (<see cref="Field"/>) and the reason.
/// Thrown by grains and carried across the cluster.
/// </summary>
[GenerateSerializer, Alias("shards.ShardsException")]
public sealed class ShardsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ShardsException(ShardsErrorKind kind, string? field, string message)
        : base(message)
    {
        Kind = kind;
        Field = field;
    }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public ShardsException()
        : base("OrleansShards error")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public ShardsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public ShardsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>What kind of failure this is.</summary>
    [Id(0)] public ShardsErrorKind Kind { get; init; }

    /// <summary>The field or place at fault, if any (for example <c>source.paths</c>).</summary>
    [Id(1)] public string? Field { get; init; }

    /// <summary>Unknown job.</summary>
    public static ShardsException JobNotFound(string jobId) => new(ShardsErrorKind.NotFound, "id", $"job '{jobId}' does not exist");
}
