namespace OrleansShards.Providers.Files;

/// <summary>Checks <see cref="FileGrainStorageOptions"/> when the silo starts, naming the provider and the field at fault.</summary>
public sealed class FileGrainStorageOptionsValidator : IConfigurationValidator
{
    private readonly FileGrainStorageOptions _options;
    private readonly string _name;

    /// <summary>Creates a validator for the options of the provider named <paramref name="name"/>.</summary>
    public FileGrainStorageOptionsValidator(FileGrainStorageOptions options, string name)
    {
        _options = options;
        _name = name;
    }

    /// <inheritdoc/>
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(_options.Directory))
        {
            throw Invalid($"{nameof(FileGrainStorageOptions.Directory)} is required: the directory of the state files.");
        }

        if (_options.GrainStorageSerializer is null)
        {
            throw Invalid($"{nameof(FileGrainStorageOptions.GrainStorageSerializer)} is required (no IGrainStorageSerializer is registered).");
        }
    }

    private OrleansConfigurationException Invalid(string reason) =>
        new($"Invalid configuration for {nameof(FileGrainStorage)} named '{_name}': {nameof(FileGrainStorageOptions)}.{reason}");
}
