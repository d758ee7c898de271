namespace OrleansShards.Silo.Hosting;

/// <summary>Settings of the built-in log, bound from <c>Shards:LogStore</c>.</summary>
public sealed class LogStoreSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:LogStore";

    /// <summary><c>sqlite</c> (default: one file beside the grain state) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>sqlite: the log file; <c>{DataDir}/state/log.db</c> when empty.</summary>
    public string? File { get; set; }

    /// <summary>postgres: an Npgsql connection string without a password.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>postgres: the password as a secret reference (<c>env:NAME</c> or <c>file:PATH</c>).</summary>
    public string? Password { get; set; }
}
