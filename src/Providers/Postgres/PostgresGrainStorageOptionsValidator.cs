namespace OrleansShards.Providers.Postgres;

/// <summary>
/// Checks <see cref="PostgresGrainStorageOptions"/> when the silo starts, naming the provider and the field at fault.
/// </summary>
public sealed class PostgresGrainStorageOptionsValidator : IConfigurationValidator
{
    private readonly PostgresGrainStorageOptions _options;
    private readonly string _name;

    /// <summary>Creates a validator for the options of the provider named <paramref name="name"/>.</summary>
    public PostgresGrainStorageOptionsValidator(PostgresGrainStorageOptions options, string name)
    {
        _options = options;
        _name = name;
    }

    /// <inheritdoc/>
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(_options.ConnectionString))
        {
            throw Invalid($"{nameof(PostgresGrainStorageOptions.ConnectionString)} is required: an Npgsql connection string.");
        }

        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(_options.ConnectionString);
        }
        catch (ArgumentException exception)
        {
            // The message of a bad connection string names the keyword, never a value.
            throw Invalid($"{nameof(PostgresGrainStorageOptions.ConnectionString)} is not a valid Npgsql connection string: {exception.Message}");
        }

        if (_options.SharedProblem() is { } problem)
        {
            throw Invalid(problem);
        }
    }

    private OrleansConfigurationException Invalid(string reason) =>
        new($"Invalid configuration for {nameof(PostgresGrainStorage)} named '{_name}': {nameof(PostgresGrainStorageOptions)}.{reason}");
}
