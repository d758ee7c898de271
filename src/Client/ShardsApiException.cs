namespace OrleansShards.Client;

/// <summary>An error answer of the API (an RFC 9457 ProblemDetails), with the field at fault when the server named one.</summary>
public sealed class ShardsApiException(int status, string detail, string? field)
    : Exception($"HTTP {status}: {detail}")
{
    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The server's explanation.</summary>
    public string Detail { get; } = detail;

    /// <summary>The field or place at fault, if named.</summary>
    public string? Field { get; } = field;
}
