namespace OrleansShards.Silo.Auth;

/// <summary>Authentication settings, bound from <c>Shards:Auth</c>. Authentication is on once a token or a token file is configured.</summary>
public sealed class AuthSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Auth";

    /// <summary>Tokens given in configuration (environment variables such as <c>Shards__Auth__Tokens__0__Token</c> included).</summary>
    public List<AuthTokenSettings> Tokens { get; set; } = [];

    /// <summary>
    /// A file of tokens, such as a mounted Kubernetes secret: JSON (<c>[{"token", "role", "name"?}]</c> or
    /// <c>{"tokens": [...]}</c>) or lines <c>role:token</c> (<c>#</c> starts a comment). It is read again when it changes.
    /// </summary>
    public string? TokensFile { get; set; }

    /// <summary>Whether requests must carry a token.</summary>
    public bool Enabled => Tokens.Count > 0 || !string.IsNullOrWhiteSpace(TokensFile);
}
