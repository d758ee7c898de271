using Orleans;
using OrleansShards.Providers.Relational;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// How hard SQLite pushes a commit to the disk before it is acknowledged (SQLite's <c>PRAGMA synchronous</c>).
/// </summary>
public enum SqliteSynchronousMode
{
    /// <summary>
    /// Every commit is fsynced before the write is acknowledged: an acknowledged write survives a power loss.
    /// </summary>
    Full = 0,

    /// <summary>
    /// In WAL mode the WAL is synced only at checkpoints: an acknowledged write survives a process crash,
    /// but the last commits can be lost on a power loss or kernel crash. Several times the commit rate of <see cref="Full"/>.
    /// </summary>
    Normal = 1,
}

/// <summary>
/// Options of <see cref="SqliteGrainStorage"/>. Every property is a plain value, so the options bind from configuration.
/// </summary>
public class SqliteGrainStorageOptions : RelationalGrainStorageOptions
{
    /// <summary>
    /// Path of the SQLite database file. Created, with its directory, when missing. Required.
    /// </summary>
    public string? DataSource { get; set; }

    /// <summary>
    /// Durability of a commit. <see cref="SqliteSynchronousMode.Full"/> by default: a write acknowledged is durable.
    /// </summary>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Full;
}

/// <summary>
/// Checks <see cref="SqliteGrainStorageOptions"/> when the silo starts, naming the provider and the field at fault.
/// </summary>
public sealed class SqliteGrainStorageOptionsValidator : IConfigurationValidator
{
    private readonly SqliteGrainStorageOptions _options;
    private readonly string _name;

    /// <summary>
    /// Creates a validator for the options of the provider named <paramref name="name"/>.
    /// </summary>
    public SqliteGrainStorageOptionsValidator(SqliteGrainStorageOptions options, string name)
    {
        _options = options;
        _name = name;
    }

    /// <inheritdoc/>
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(_options.DataSource))
        {
            throw Invalid($"{nameof(SqliteGrainStorageOptions.DataSource)} is required: the path of the SQLite database file.");
        }

        if (_options.DataSource.Trim().Equals(":memory:", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid($"{nameof(SqliteGrainStorageOptions.DataSource)} must be a file path; ':memory:' is not durable and cannot use WAL.");
        }

        if (!Enum.IsDefined(_options.Synchronous))
        {
            throw Invalid($"{nameof(SqliteGrainStorageOptions.Synchronous)} must be Full or Normal, not {_options.Synchronous}.");
        }

        if (_options.SharedProblem() is { } problem)
        {
            throw Invalid(problem);
        }
    }

    private OrleansConfigurationException Invalid(string reason) =>
        new($"Invalid configuration for {nameof(SqliteGrainStorage)} named '{_name}': {nameof(SqliteGrainStorageOptions)}.{reason}");
}
