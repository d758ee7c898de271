using Orleans.Storage;

namespace OrleansShards.Providers.Relational;

/// <summary>
/// Options every dialect of <see cref="RelationalGrainStorage"/> shares. Every property is a plain value, so the
/// options bind from configuration.
/// </summary>
public abstract class RelationalGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>
    /// Default for <see cref="MaxBatchSize"/>.
    /// </summary>
    public const int DefaultMaxBatchSize = 1024;

    /// <summary>
    /// Whether a clear deletes the row (<see langword="true"/>, the default) or keeps it with no data and a new ETag.
    /// </summary>
    public bool DeleteStateOnClear { get; set; } = true;

    /// <summary>
    /// Stage of the silo lifecycle at which the database is opened (and its schema created).
    /// </summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <summary>
    /// Most writes committed in one transaction. A bound keeps one commit from holding back its callers for long
    /// when a burst of writes arrives.
    /// </summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <inheritdoc/>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = default!;

    /// <summary>The checks all dialects share; returns the reason of the first that fails, or <see langword="null"/>.</summary>
    internal string? SharedProblem()
    {
        if (MaxBatchSize < 1)
        {
            return $"{nameof(MaxBatchSize)} must be at least 1, not {MaxBatchSize}.";
        }

        if (GrainStorageSerializer is null)
        {
            return $"{nameof(GrainStorageSerializer)} is required (no IGrainStorageSerializer is registered).";
        }

        return null;
    }
}
