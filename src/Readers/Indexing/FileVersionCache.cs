using System.Collections.Concurrent;

namespace OrleansShards.Readers.Indexing;

/// <summary>Something built from one version of a file (its length and modification time).</summary>
internal interface IFileVersioned
{
    /// <summary>Whether it was built from the file as <paramref name="stat"/> describes it.</summary>
    bool Matches(FileStat stat);
}

/// <summary>
/// A per-path cache of what is built from a file (a record index, a Parquet footer): one build at a time per path,
/// shared by every caller that waits for it, and built again when the file's length or modification time changed.
/// </summary>
/// <param name="build">Builds the value of a path from the file as it is now; runs off the caller's thread.</param>
/// <param name="replaced">Called with the new value when it replaced one of an older version of the file.</param>
internal sealed class FileVersionCache<T>(Func<string, Task<T>> build, Action<string, T>? replaced = null)
    where T : class, IFileVersioned
{
    private readonly ConcurrentDictionary<string, Task<T>> _entries = new(StringComparer.Ordinal);

    /// <summary>The value of <paramref name="path"/> for the file as <paramref name="stat"/> describes it.</summary>
    /// <remarks>When the file changed again during a build, the value describes the file as it is now: the caller compares it with what it expects.</remarks>
    public async ValueTask<T> GetAsync(string path, FileStat stat, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_entries.TryGetValue(path, out var existing))
            {
                if (existing.IsCompletedSuccessfully && existing.Result.Matches(stat))
                {
                    return existing.Result;
                }

                if (!existing.IsCompleted)
                {
                    try
                    {
                        var built = await existing.WaitAsync(cancellationToken).ConfigureAwait(false);
                        if (built.Matches(stat))
                        {
                            return built;
                        }
                    }
                    catch (Exception) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Another caller's build failed: build again below.
                    }
                }

                var (starter, replacement) = Cold(path);
                if (_entries.TryUpdate(path, replacement, existing))
                {
                    starter.Start(TaskScheduler.Default);
                    var value = await replacement.WaitAsync(cancellationToken).ConfigureAwait(false);
                    replaced?.Invoke(path, value);
                    return value;
                }
            }
            else
            {
                var (starter, fresh) = Cold(path);
                if (_entries.TryAdd(path, fresh))
                {
                    starter.Start(TaskScheduler.Default);
                    return await fresh.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    // Built only once the entry is in the cache, so two callers never build the same path at once.
    private (Task<Task<T>> Starter, Task<T> Value) Cold(string path)
    {
        var starter = new Task<Task<T>>(() => build(path));
        return (starter, starter.Unwrap());
    }
}
