namespace OrleansShards.Readers;

/// <summary>
/// A connection the operator defines in configuration (<c>Shards:Connections:{name}</c>) and jobs
/// name, so that a job never carries credentials. Secret values are references resolved when read
/// (<see cref="SecretReference"/>), never stored in grain state, checkpoints, logs or answers.
/// </summary>
public sealed class SourceConnection
{
    /// <summary>What it connects to: <c>postgres</c>, <c>s3</c>, <c>azureblob</c> or <c>redis</c> (Redis Streams; <see cref="ConnectionString"/> is then <c>host:port</c>).</summary>
    public string Kind { get; set; } = "";

    /// <summary>postgres: an Npgsql connection string without the password (for example <c>Host=db;Username=reader;Database=warehouse</c>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The password or secret key, as a reference: <c>env:NAME</c> or <c>file:PATH</c>.</summary>
    public string? Secret { get; set; }

    /// <summary>s3: the access key id, as a reference or literal (it is not a secret on its own); azureblob: the account name.</summary>
    public string? AccessKey { get; set; }

    /// <summary>s3, azureblob: the service URL (an S3-compatible endpoint, or the blob service URL).</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>s3: the region (default us-east-1).</summary>
    public string? Region { get; set; }

    /// <summary>s3: path-style addressing (default true, as S3-compatible servers need).</summary>
    public bool ForcePathStyle { get; set; } = true;
}

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

/// <summary>
/// Resolves secret references when a connection is opened: <c>env:NAME</c> reads an environment
/// variable, <c>file:PATH</c> a file (trailing newline removed). Only the operator's configuration
/// holds references, so a job cannot make the server read an arbitrary variable or file.
/// </summary>
public static class SecretReference
{
    /// <summary>Whether <paramref name="value"/> is a reference (<c>env:</c> or <c>file:</c>) rather than a literal.</summary>
    public static bool IsReference(string value) =>
        value.StartsWith("env:", StringComparison.Ordinal) || value.StartsWith("file:", StringComparison.Ordinal);

    /// <summary>A value that may be given literally (it is not secret on its own) or as a reference.</summary>
    public static string ResolveOrLiteral(string value, string place) => IsReference(value) ? Resolve(value, place) : value;

    /// <summary>The value <paramref name="reference"/> points at.</summary>
    /// <exception cref="InvalidOperationException">The reference is malformed or points at nothing; the message names the reference, never a value.</exception>
    public static string Resolve(string reference, string place)
    {
        if (reference.StartsWith("env:", StringComparison.Ordinal))
        {
            var name = reference[4..];
            return Environment.GetEnvironmentVariable(name)
                ?? throw new InvalidOperationException($"{place}: the environment variable '{name}' that holds the secret is not set");
        }

        if (reference.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = reference[5..];
            try
            {
                return File.ReadAllText(path).TrimEnd('\r', '\n');
            }
            catch (IOException e)
            {
                throw new InvalidOperationException($"{place}: the secret file '{path}' cannot be read: {e.GetType().Name}");
            }
        }

        throw new InvalidOperationException($"{place}: a secret must be a reference, 'env:NAME' or 'file:PATH', not a literal value");
    }
}
