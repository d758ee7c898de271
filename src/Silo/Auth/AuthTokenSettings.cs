namespace OrleansShards.Silo.Auth;

/// <summary>One configured token, bound from <c>Shards:Auth:Tokens:{n}</c>.</summary>
public sealed class AuthTokenSettings
{
    /// <summary>The secret the client sends as <c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    public string? Token { get; set; }

    /// <summary>One of <see cref="ShardsRoles.All"/>.</summary>
    public string? Role { get; set; }

    /// <summary>A name for the token's holder: the user name of requests made with it (never the token itself).</summary>
    public string? Name { get; set; }
}
