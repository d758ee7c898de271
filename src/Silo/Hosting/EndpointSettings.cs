namespace OrleansShards.Silo.Hosting;

/// <summary>An HTTP endpoint that configuration turns on or off and places.</summary>
public sealed class EndpointSettings
{
    /// <summary>Whether the silo serves it.</summary>
    public bool Enabled { get; set; }

    /// <summary>The path it is served under, starting with <c>/</c>.</summary>
    public string Path { get; set; } = "/";

    /// <summary>Throws when an enabled endpoint's path is not an absolute path, naming <paramref name="key"/>.</summary>
    public void Validate(string key)
    {
        if (Enabled && (string.IsNullOrWhiteSpace(Path) || !Path.StartsWith('/') || Path.Length < 2))
        {
            throw new InvalidOperationException($"{key} '{Path}' must be a path below the root, such as '/metrics'");
        }
    }
}
