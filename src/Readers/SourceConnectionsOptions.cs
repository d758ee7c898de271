namespace OrleansShards.Readers;

/// <summary>The operator's connections by name, bound from <c>Shards:Connections</c>.</summary>
public sealed class SourceConnectionsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Connections";

    /// <summary>The connections by name.</summary>
    public Dictionary<string, SourceConnection> Connections { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The connection named <paramref name="name"/> of kind <paramref name="kind"/>.</summary>
    /// <exception cref="SourceSpecException">No such connection, or one of another kind.</exception>
    public SourceConnection Get(string? name, string kind)
    {
        if (string.IsNullOrWhiteSpace(name) || !Connections.TryGetValue(name, out var connection))
        {
            throw new SourceSpecException("source.connection", $"no connection '{name}' is defined in the server's configuration (Shards:Connections); the operator defines connections, jobs only name them");
        }

        return string.Equals(connection.Kind, kind, StringComparison.OrdinalIgnoreCase)
            ? connection
            : throw new SourceSpecException("source.connection", $"connection '{name}' is a {connection.Kind} connection, not {kind}");
    }
}
