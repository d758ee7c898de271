namespace OrleansShards.Readers;

/// <summary>A source spec that names something that does not exist or may not be read; names the field at fault.</summary>
public sealed class SourceSpecException(string field, string message) : ArgumentException(message)
{
    /// <summary>The field of the spec at fault, as in the API (for example <c>source.paths</c>).</summary>
    public string Field { get; } = field;
}
