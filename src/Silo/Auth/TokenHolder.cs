namespace OrleansShards.Silo.Auth;

/// <summary>An authenticated token holder: the role and the display name, never the token.</summary>
/// <param name="Name">The configured name, or <c>{role}#{n}</c>.</param>
/// <param name="Role">The role.</param>
public sealed record TokenHolder(string Name, string Role);
