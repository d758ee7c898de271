using System.Globalization;
using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>Checkpoints of a job: export its task book and splitter state, import one taken elsewhere.</summary>
public sealed partial class JobGrain
{
    // A reentrant grain: an import awaits its files' descriptions, and a second import (or a create)
    // of the same id must not interleave with it.
    private bool _importing;

    /// <inheritdoc />
    public async Task<CheckpointDocument> ExportCheckpoint()
    {
        EnsureExists();
        if (_live is not null)
        {
            _live.ExpireDue();
            return LiveCheckpoints.Export(JobId, State.Spec!, State.CreatedAt, State.Lifecycle, [.. State.Paths.Select(readers.Display)], State.Live!, time.GetUtcNow());
        }

        if (_book is null || _catalog is null)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' is still describing its source: export a checkpoint once every partition is acknowledged");
        }

        var splitters = await Task.WhenAll(Enumerable.Range(0, State.Paths.Count)
            .Select(p => GrainFactory.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(JobId, p)).GetStatus()));

        // No await from here on: the document is one consistent snapshot of the book.
        _book.ExpireDue();
        var files = State.Files.Select((file, p) => new CheckpointFile
        {
            Partition = p,
            Path = readers.Display(State.Paths[p]),
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
        return Checkpoints.Export(JobId, State.Spec!, State.CreatedAt, State.Lifecycle, files, offsets, State.Book, _catalog, time.GetUtcNow());
    }

    /// <inheritdoc />
    public async Task<CreateJobResult> ImportCheckpoint(CheckpointDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        RefuseIfTaken();
        if (document.Live is not null)
        {
            return await ImportLiveCheckpoint(document);
        }

        CheckpointRestore restored;
        try
        {
            restored = Checkpoints.Restore(document);
        }
        catch (CheckpointException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, e.Field, e.Message);
        }

        var spec = restored.Spec with { Id = JobId };
        if (spec.Validate() is { } problem)
        {
            // The spec was valid without an id: what is left is the id this job was imported as.
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, $"{problem.Field} {problem.Reason}");
        }

        _importing = true;
        try
        {
            var pinned = await MatchFiles(spec.Source!, document.Files!);
            if (Exists)
            {
                // A create of the same id ran while the files were described.
                throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' was created while the checkpoint was read; delete it first or import under another id (?id=)");
            }

            // No await from the check above until the state is set: a create cannot slip in between.
            State.Spec = spec;
            State.CreatedAt = document.CreatedAt;
            State.Paths = [.. pinned.Select(f => f.Path)];
            State.Files = [.. pinned.Select(f => (PinnedFile?)f)];
            State.Book = restored.Book;
            State.Lifecycle = document.Lifecycle!;
            OpenBook();
            await WriteNow();
        }
        finally
        {
            _importing = false;
        }

        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).Add(JobId);
        LogImported(logger, JobId, document.JobId, restored.RequeuedFromDoing.Count);
        // The job's state is durable and acknowledges every partition: the splitters' offsets may follow.
        await AdoptSplitters(spec.Source!);
        StartTimers();
        return new CreateJobResult(true, BuildStatus());
    }

    private void RefuseIfTaken()
    {
        if (Exists || _importing)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' exists; delete it first or import under another id (?id=)");
        }
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

    private async Task AdoptSplitters(SourceSpec source)
    {
        try
        {
            await Task.WhenAll(State.Paths.Select((path, p) => GrainFactory.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(JobId, p))
                .Adopt(new SplitterAssignment(JobId, p, path, source), State.Files[p]!)));
        }
        catch (Exception e)
        {
            // The job holds every partition's file: it never asks the splitters again, so the job stands.
            LogAdoptFailed(logger, e, JobId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: imported from a checkpoint of job {SourceJobId}; {Requeued} shards in flight were re-queued")]
    private static partial void LogImported(ILogger logger, string jobId, string? sourceJobId, int requeued);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: imported, but storing its splitters' offsets failed")]
    private static partial void LogAdoptFailed(ILogger logger, Exception exception, string jobId);
}
