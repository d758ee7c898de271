namespace OrleansShards.Providers.Sqlite;

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
