using Npgsql;
using Orleans.Configuration;
using OrleansShards.Providers.Files;
using OrleansShards.Providers.Postgres;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Readers;
using StackExchange.Redis;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Where grain state lives, bound from <c>Shards:Storage</c>: the provider and what it needs. Checked and resolved
/// (secret references included) when the host is built, so a wrong or missing setting stops the silo at startup with
/// a message that names the key.
/// </summary>
public sealed class StorageSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Storage";

    /// <summary>The embedded default: one SQLite file under the data directory.</summary>
    public const string Sqlite = "sqlite";

    /// <summary>PostgreSQL, the same relational provider as <see cref="Sqlite"/> in its second dialect.</summary>
    public const string Postgres = "postgres";

    /// <summary>Orleans' Redis grain storage.</summary>
    public const string Redis = "redis";

    /// <summary>Orleans' Azure blob grain storage: one blob per grain state.</summary>
    public const string Blob = "blob";

    /// <summary>A directory: one file per grain.</summary>
    public const string File = "file";

    /// <summary>Every value <see cref="Provider"/> takes.</summary>
    public static readonly IReadOnlyList<string> Providers = [Sqlite, Postgres, Redis, Blob, File];

    /// <summary><c>sqlite</c> (default), <c>postgres</c>, <c>redis</c>, <c>blob</c> or <c>file</c>.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// postgres: an Npgsql connection string without the password; redis: a StackExchange.Redis configuration string;
    /// blob: an Azure storage connection string, given as such or as a reference (<c>env:NAME</c>, <c>file:PATH</c>);
    /// or use <see cref="ServiceUri"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>postgres (and redis): the password as a secret reference, <c>env:NAME</c> or <c>file:PATH</c>.</summary>
    public string? Password { get; set; }

    /// <summary>blob: the blob service URI when there is no connection string; with a SAS token, or with <see cref="Credential"/>.</summary>
    public string? ServiceUri { get; set; }

    /// <summary>
    /// blob with <see cref="ServiceUri"/>: <c>identity</c> (the pod's workload or managed identity) or a reference
    /// (<c>env:NAME</c>, <c>file:PATH</c>) to a SAS token.
    /// </summary>
    public string? Credential { get; set; }

    /// <summary>The default <see cref="Container"/>.</summary>
    public const string DefaultContainer = "orleans-shards";

    /// <summary>blob: the container, created when missing.</summary>
    public string Container { get; set; } = DefaultContainer;

    /// <summary>file: the directory of the state files; <c>{DataDir}/state/grains</c> when empty.</summary>
    public string? Directory { get; set; }

    /// <summary>sqlite: the database file (from <c>Shards:SqliteFile</c>, <c>{DataDir}/state/shards.db</c> when empty).</summary>
    public string? SqliteFile { get; set; }

    /// <summary>sqlite: the synchronous mode (from <c>Shards:SqliteSynchronous</c>).</summary>
    public SqliteSynchronousMode SqliteSynchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>
    /// Reads <c>Shards:Storage</c> (and, for sqlite, <c>Shards:SqliteFile</c> and <c>Shards:SqliteSynchronous</c>) and fills the defaults
    /// that depend on the data directory.
    /// </summary>
    public static StorageSettings FromConfiguration(IConfiguration configuration, SiloHostOptions host, string dataDir)
    {
        var settings = new StorageSettings();
        configuration.GetSection(Section).Bind(settings);
        settings.RefusePerSiloDefault(host);
        settings.SqliteFile = string.IsNullOrWhiteSpace(host.SqliteFile) ? Path.Combine(dataDir, "state", "shards.db") : Path.GetFullPath(host.SqliteFile);
        settings.SqliteSynchronous = host.SqliteSynchronous;
        if (string.IsNullOrWhiteSpace(settings.Directory))
        {
            settings.Directory = Path.Combine(dataDir, "state", "grains");
        }

        return settings;
    }

    /// <summary>
    /// Refuses a store whose default place is the silo's own data directory (SQLite, files) when several silos form a
    /// cluster: each silo would keep its own grain state, and a job would restart from nothing on another silo. An
    /// explicit file or directory is the operator saying that the silos of one host share it.
    /// </summary>
    private void RefusePerSiloDefault(SiloHostOptions host)
    {
        var clustering = ShardsClustering.Mode(host);
        if (clustering == SiloHostOptions.LocalhostClustering)
        {
            return;
        }

        var provider = (Provider ?? string.Empty).Trim().ToLowerInvariant();
        if (provider == Sqlite && string.IsNullOrWhiteSpace(host.SqliteFile))
        {
            throw new InvalidOperationException(
                $"{Section}:Provider is 'sqlite' with Shards:SqliteFile unset under Shards:Clustering '{clustering}': grain state would be per silo ({{DataDir}}/state/shards.db). " +
                $"Use a shared store ({Section}:Provider 'postgres', 'redis' or 'blob'), or set Shards:SqliteFile to one file that every silo of this host shares");
        }

        if (provider == File && string.IsNullOrWhiteSpace(Directory))
        {
            throw new InvalidOperationException(
                $"{Section}:Provider is 'file' with {Section}:Directory unset under Shards:Clustering '{clustering}': grain state would be per silo ({{DataDir}}/state/grains). " +
                $"Use a shared store ({Section}:Provider 'postgres', 'redis' or 'blob'), or set {Section}:Directory to one directory that every silo of this host shares");
        }
    }

    /// <summary>
    /// Registers the chosen provider under <paramref name="name"/>. Throws <see cref="InvalidOperationException"/> naming
    /// the <c>Shards:Storage:*</c> key at fault.
    /// </summary>
    public void Register(ISiloBuilder silo, string name)
    {
        switch ((Provider ?? string.Empty).Trim().ToLowerInvariant())
        {
            case Sqlite:
                var file = Required(SqliteFile, "Shards:SqliteFile");
                var synchronous = SqliteSynchronous;
                silo.AddSqliteGrainStorage(name, o =>
                {
                    o.DataSource = file;
                    o.Synchronous = synchronous;
                });
                break;
            case Postgres:
                var postgres = PostgresConnectionString();
                silo.AddPostgresGrainStorage(name, o => o.ConnectionString = postgres);
                break;
            case Redis:
                var redis = RedisConfiguration();
                silo.AddRedisGrainStorage(name, o =>
                {
                    o.ConfigurationOptions = redis;
                    o.DeleteStateOnClear = true;
                });
                break;
            case Blob:
                // Orleans' own provider, configured the Orleans way: a BlobServiceClient and a container.
                var container = ValidContainer(Container);
                var endpoint = AzureStorageEndpoint.Resolve(
                    table: false, ConnectionString, ServiceUri, Credential,
                    $"{Section}:ConnectionString", $"{Section}:ServiceUri", $"{Section}:Credential", $"{Section}:Provider is 'blob'");
                silo.AddAzureBlobGrainStorage(name, (AzureBlobStorageOptions o) =>
                {
                    o.BlobServiceClient = endpoint.BlobService();
                    o.ContainerName = container;
                    o.DeleteStateOnClear = true;
                });
                break;
            case File:
                var directory = Path.GetFullPath(Required(Directory, $"{Section}:Directory"));
                silo.AddFileGrainStorage(name, o => o.Directory = directory);
                break;
            default:
                throw new InvalidOperationException(
                    $"{Section}:Provider '{Provider}' is not a grain storage provider: use one of {string.Join(", ", Providers)}");
        }
    }

    /// <summary>
    /// Creates what the chosen provider needs in its store before any silo starts (the <c>migrate</c> step of a
    /// deployment): the table and sequence on PostgreSQL. The other providers create what they need when they open
    /// (the SQLite file, the blob container, the directory), so there is nothing to do for them.
    /// </summary>
    public async Task CreateSchemaAsync(CancellationToken cancellationToken = default)
    {
        if (string.Equals((Provider ?? string.Empty).Trim(), Postgres, StringComparison.OrdinalIgnoreCase))
        {
            await PostgresGrainStorage.CreateSchemaAsync(PostgresConnectionString(), cancellationToken);
        }
    }

    private string PostgresConnectionString()
    {
        var text = Required(ConnectionString, $"{Section}:ConnectionString");
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(text);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{Section}:ConnectionString is not an Npgsql connection string: {e.Message}");
        }

        if (!string.IsNullOrEmpty(builder.Password))
        {
            throw new InvalidOperationException(
                $"{Section}:ConnectionString must not hold the password: put a reference (env:NAME or file:PATH) in {Section}:Password");
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new InvalidOperationException($"{Section}:ConnectionString names no Host");
        }

        if (ResolvedPassword() is { } password)
        {
            builder.Password = password;
        }

        return builder.ConnectionString;
    }

    private ConfigurationOptions RedisConfiguration()
    {
        var text = Required(ConnectionString, $"{Section}:ConnectionString");
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(text);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{Section}:ConnectionString is not a StackExchange.Redis configuration string: {e.Message}");
        }

        if (options.EndPoints.Count == 0)
        {
            throw new InvalidOperationException($"{Section}:ConnectionString names no Redis endpoint (host:port)");
        }

        if (ResolvedPassword() is { } password)
        {
            options.Password = password;
        }

        return options;
    }

    /// <summary>
    /// The container name if Azure accepts it: 3 to 63 lower-case letters, digits and single hyphens, starting and
    /// ending with a letter or digit. Orleans checks it only when the silo starts; this names the key at build time.
    /// </summary>
    private static string ValidContainer(string? container)
    {
        container ??= string.Empty;
        var valid = container.Length is >= 3 and <= 63
            && container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            && container[0] != '-' && container[^1] != '-' && !container.Contains("--", StringComparison.Ordinal);
        return valid
            ? container
            : throw new InvalidOperationException(
                $"{Section}:Container '{container}' is not a valid container name (3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit)");
    }

    private string? ResolvedPassword()
    {
        if (string.IsNullOrWhiteSpace(Password))
        {
            return null;
        }

        if (!SecretReference.IsReference(Password))
        {
            throw new InvalidOperationException($"{Section}:Password must be a secret reference (env:NAME or file:PATH), not the password itself");
        }

        return SecretReference.Resolve(Password, $"{Section}:Password");
    }

    private static string Required(string? value, string key) =>
        string.IsNullOrWhiteSpace(value) ? throw new InvalidOperationException($"{key} is required for the chosen grain storage provider") : value;
}
