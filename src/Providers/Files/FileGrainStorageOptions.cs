using Orleans.Storage;

namespace OrleansShards.Providers.Files;

/// <summary>Options of <see cref="FileGrainStorage"/>; every property binds from configuration.</summary>
public class FileGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>The directory of the state files, created when missing. Required.</summary>
    public string? Directory { get; set; }

    /// <summary>Whether a clear deletes the file (the default) or keeps one with no state and a new ETag.</summary>
    public bool DeleteStateOnClear { get; set; } = true;

    /// <summary>Stage of the silo lifecycle at which the directory is created and checked.</summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <inheritdoc/>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = default!;
}
