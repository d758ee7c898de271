using OrleansShards.Readers.Csv;

namespace OrleansShards.Readers.Objects;

/// <summary>Settings of object sources (s3, azureblob).</summary>
public sealed class ObjectSourceOptions
{
    /// <summary>
    /// Where objects are downloaded to (streamed, never held in memory whole) and indexed, one file per object version;
    /// <see langword="null"/> for <c>orleans-shards-objects</c> under the temporary directory.
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// How often a read asks the store whether an object it reads from its local copy is still the pinned version (a
    /// HEAD), at most, per object; zero asks on every read. Downloads always carry <c>If-Match</c>.
    /// </summary>
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest object the <c>raw</c> transformer turns into a record (the record holds the object's bytes).</summary>
    public long MaxRawObjectBytes { get; set; } = 64L << 20;

    /// <summary>The most objects one source may list.</summary>
    public int MaxObjects { get; set; } = 1_000_000;

    /// <summary>How many objects of a partition are downloaded at once when it is described.</summary>
    public int DownloadParallelism { get; set; } = 4;

    /// <summary>The stride of the sparse record index of each object (see <see cref="CsvReaderOptions.IndexStride"/>).</summary>
    public int IndexStride { get; set; } = 1024;

    /// <summary>
    /// The most bytes the local copies (and their index side files) may take under the cache directory; least recently
    /// used copies, older versions of a key first, are deleted beyond it (never one a read is using). Default 10 GiB.
    /// </summary>
    public long CacheMaxBytes { get; set; } = 10L << 30;

    /// <summary>The cache directory in effect.</summary>
    public string EffectiveCacheDirectory => Path.GetFullPath(CacheDirectory ?? Path.Combine(Path.GetTempPath(), "orleans-shards-objects"));
}
