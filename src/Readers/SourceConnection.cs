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
