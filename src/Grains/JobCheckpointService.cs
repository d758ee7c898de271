using System.Globalization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// Checkpoints of jobs, for the job grain: builds the document from a job's state, and reads one
/// taken elsewhere back, checking it against the files and partitions under this server's data roots.
/// Holds no state of its own: the grain stores what it answers.
/// </summary>
public sealed class JobCheckpointService(SourceReaders readers, TimeProvider time)
{
    /// <summary>The checkpoint of a live job.</summary>
    public CheckpointDocument ExportLive(string jobId, JobState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return LiveCheckpoints.Export(jobId, state.Spec!, state.CreatedAt, state.Lifecycle, [.. state.Paths.Select(readers.Display)], state.Live!, time.GetUtcNow());
    }

    /// <summary>The checkpoint of a static job whose partitions are all acknowledged, with its splitters' offsets.</summary>
    public CheckpointDocument ExportStatic(string jobId, JobState state, ShardCatalog catalog, IReadOnlyList<SplitterStatus> splitters)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(splitters);
        var files = state.Files.Select((file, p) => new CheckpointFile
        {
            Partition = p,
            Path = readers.Display(state.Paths[p]),
            Records = file!.RecordCount,
            Length = file.Length,
            LastWriteTimeUtcTicks = file.LastWriteTimeUtcTicks,
            ContentHash = Checkpoints.FormatHash(file.ContentHash),
        }).ToList();
        var offsets = splitters.Select((s, p) => new CheckpointSplitter
        {
            Partition = p,
            Path = files[p].Path,
            SplitUpTo = s.SplitUpTo,
            Acknowledged = s.Acknowledged,
        }).ToList();
        return Checkpoints.Export(jobId, state.Spec!, state.CreatedAt, state.Lifecycle, files, offsets, state.Book, catalog, time.GetUtcNow());
    }

    /// <summary>Reads a static job's checkpoint back as job <paramref name="jobId"/> and matches its files against this server's.</summary>
    /// <exception cref="ShardsException">The document does not hold together or does not match its source (invalid; names the place).</exception>
    public async Task<ImportedJob> ImportStatic(string jobId, CheckpointDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        CheckpointRestore restored;
        try
        {
            restored = Checkpoints.Restore(document);
        }
        catch (CheckpointException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, e.Field, e.Message);
        }

        var spec = restored.Spec with { Id = jobId };
        if (spec.Validate() is { } problem)
        {
            // The spec was valid without an id: what is left is the id this job was imported as.
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, $"{problem.Field} {problem.Reason}");
        }

        var pinned = await MatchFiles(spec.Source!, document.Files!);
        return new ImportedJob(spec, pinned, restored.Book, restored.RequeuedFromDoing.Count);
    }

    /// <summary>Reads a live job's checkpoint back as job <paramref name="jobId"/>: every partition here must still hold the offsets it needs.</summary>
    /// <exception cref="ShardsException">The document does not hold together, or the source here lacks partitions or offsets (invalid; names the place).</exception>
    public async Task<ImportedLiveJob> ImportLive(string jobId, CheckpointDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        JobSpec spec;
        LiveBookState book;
        try
        {
            (spec, book) = LiveCheckpoints.Restore(document);
        }
        catch (CheckpointException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, e.Field, e.Message);
        }

        spec = spec with { Id = jobId };
        if (spec.Validate() is { } problem)
        {
            // As for a static import: the spec was valid without an id, so what is left is the id this job was imported as.
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, $"{problem.Field} {problem.Reason}");
        }

        var locators = await readers.ResolvePartitionsAsync(spec.Source!);
        if (locators.Count < book.Partitions.Count)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "live", string.Create(CultureInfo.InvariantCulture, $"the source has {locators.Count} partitions here, the checkpoint {book.Partitions.Count}"));
        }

        var live = readers.LiveFor(spec.Source!);
        for (var p = 0; p < locators.Count; p++)
        {
            var bounds = await live.GetBoundsAsync(spec.Source!, locators[p]);
            if (p >= book.Partitions.Count)
            {
                book.Partitions.Add(new LivePartitionState { Committed = bounds.FirstRetained, SplitUpTo = bounds.FirstRetained });
            }
            else if (bounds.HighWatermark < book.Partitions[p].SplitUpTo || bounds.FirstRetained > book.Partitions[p].Committed)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, string.Create(CultureInfo.InvariantCulture, $"live[{p}]"),
                    string.Create(CultureInfo.InvariantCulture, $"partition {p} here holds offsets [{bounds.FirstRetained}, {bounds.HighWatermark}); the checkpoint needs [{book.Partitions[p].Committed}, {book.Partitions[p].SplitUpTo}) and more"));
            }

            book.Partitions[p].HighWatermark = bounds.HighWatermark;
            book.Partitions[p].FirstRetained = bounds.FirstRetained;
        }

        return new ImportedLiveJob(spec, locators, book);
    }

    /// <summary>Resolves each file of a checkpoint under this server's data roots and checks it is the file the checkpoint was cut from.</summary>
    private async Task<List<PinnedFile>> MatchFiles(SourceSpec source, IReadOnlyList<CheckpointFile> files)
    {
        var reader = readers.For(source);
        var pinned = new List<PinnedFile>(files.Count);
        // A file is found again by its path under this server's roots; other partitions (tables,
        // groups of objects) are resolved from the spec as at creation and matched by position.
        var resolvedBySpec = JobSpec.FileKinds.Contains(source.Kind.ToLowerInvariant()) ? null : await readers.ResolvePartitionsAsync(source);
        if (resolvedBySpec is not null && resolvedBySpec.Count != files.Count)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "files", string.Create(CultureInfo.InvariantCulture, $"the source has {resolvedBySpec.Count} partitions here, the checkpoint {files.Count}"));
        }

        for (var i = 0; i < files.Count; i++)
        {
            var expected = files[i];
            var field = string.Create(CultureInfo.InvariantCulture, $"files[{i}]");
            var path = resolvedBySpec?[i] ?? await ResolveFile(source, expected, field);

            Readers.PartitionDescription description;
            try
            {
                description = await reader.DescribeAsync(path);
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, field + ".path", $"{field} '{expected.Path}' cannot be described here: {e.Message}");
            }

            var differences = new List<string>();
            if (description.RecordCount != expected.Records)
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"it holds {description.RecordCount} records, the checkpoint {expected.Records}"));
            }

            if (description.Fingerprint.Length != expected.Length)
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"it is {description.Fingerprint.Length} bytes long, the checkpoint's file {expected.Length}"));
            }

            var hash = Checkpoints.FormatHash(description.Fingerprint.ContentHash);
            if (!Checkpoints.TryParseHash(expected.ContentHash, out var expectedHash) || expectedHash != description.Fingerprint.ContentHash)
            {
                differences.Add($"its content hash is {hash}, the checkpoint's {expected.ContentHash}");
            }

            if (differences.Count > 0)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, field, $"{field} '{expected.Path}' does not match the checkpoint's source: {string.Join("; ", differences)}");
            }

            // Pinned as this machine sees it (its path and modification time), so reads check against it.
            pinned.Add(new PinnedFile(description.Path, description.RecordCount, description.Fingerprint.Length, description.Fingerprint.LastWriteTimeUtcTicks, description.Fingerprint.ContentHash));
        }

        return pinned;
    }

    private async Task<string> ResolveFile(SourceSpec source, CheckpointFile expected, string field)
    {
        try
        {
            var resolved = await readers.ResolvePartitionsAsync(source with { Paths = [expected.Path!] });
            return resolved.Count == 1
                ? resolved[0]
                : throw new ShardsException(ShardsErrorKind.Invalid, field + ".path", $"{field}.path '{expected.Path}' names {resolved.Count} files here, not one");
        }
        catch (ShardsException e) when (e.Field == "source.paths")
        {
            throw new ShardsException(ShardsErrorKind.Invalid, field + ".path", $"{field}.path '{expected.Path}' cannot be read here: {e.Message}");
        }
    }
}
