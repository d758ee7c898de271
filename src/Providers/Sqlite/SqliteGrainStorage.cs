using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansShards.Providers.Relational;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Orleans grain storage in one SQLite file (WAL): the SQLite dialect of <see cref="RelationalGrainStorage"/>. One
/// writer connection commits the writes of every grain in shared transactions (group commit); reads use pooled
/// read-only connections of their own and run beside it. ETags come from a per-file counter.
/// </summary>
public sealed class SqliteGrainStorage : RelationalGrainStorage
{
    /// <summary>
    /// Creates the storage; the file is opened by <see cref="RelationalGrainStorage.InitializeAsync"/>, which the silo
    /// lifecycle calls at <see cref="RelationalGrainStorageOptions.InitStage"/>, or else by the first operation.
    /// </summary>
    public SqliteGrainStorage(
        string name,
        SqliteGrainStorageOptions options,
        IGrainStorageSerializer grainStorageSerializer,
        IOptions<ClusterOptions> clusterOptions,
        IActivatorProvider activatorProvider,
        ILogger<SqliteGrainStorage> logger)
        : this(name, options ?? throw new ArgumentNullException(nameof(options)), new SqliteDialect(name ?? throw new ArgumentNullException(nameof(name)), options, logger),
            grainStorageSerializer, clusterOptions, activatorProvider, logger)
    {
    }

    private SqliteGrainStorage(
        string name,
        SqliteGrainStorageOptions options,
        SqliteDialect dialect,
        IGrainStorageSerializer grainStorageSerializer,
        IOptions<ClusterOptions> clusterOptions,
        IActivatorProvider activatorProvider,
        ILogger<SqliteGrainStorage> logger)
        : base(name, dialect, options, grainStorageSerializer, clusterOptions, activatorProvider, logger) =>
        DataSource = dialect.Path;

    /// <summary>The full path of the database file.</summary>
    public string? DataSource { get; }
}
