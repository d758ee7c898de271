using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>Checkpoints of a job: the <see cref="JobCheckpointService"/> builds and reads the document; the grain stores what it answers.</summary>
public sealed partial class JobGrain
{
    // A reentrant grain: an import awaits its files' descriptions, and a second import (or a create)
    // of the same id must not interleave with it.
    private bool _importing;

    /// <inheritdoc />
    public async Task<CheckpointDocument> ExportCheckpoint()
    {
        EnsureExists();
        RefuseCheckpointOfMixture();
        if (_book is LiveJobBook live)
        {
            live.Tasks.ExpireDue();
            return checkpoints.ExportLive(JobId, State);
        }

        if (_book is not StaticJobBook book)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' is still describing its source: export a checkpoint once every partition is acknowledged");
        }

        var splitters = await Task.WhenAll(Enumerable.Range(0, State.Paths.Count)
            .Select(p => GrainFactory.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(JobId, p)).GetStatus()));

        // No await from here on: the document is one consistent snapshot of the book.
        book.Tasks.ExpireDue();
        return checkpoints.ExportStatic(JobId, State, book.Catalog, splitters);
    }

    /// <inheritdoc />
    public async Task<CreateJobResult> ImportCheckpoint(CheckpointDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        RefuseIfTaken();
        _importing = true;
        int requeued;
        try
        {
            requeued = document.Live is not null ? await StoreImportedLive(document) : await StoreImported(document);
        }
        finally
        {
            _importing = false;
        }

        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).Add(JobId);
        LogImported(logger, JobId, document.JobId, requeued);
        if (State.Live is not null)
        {
            await StartLiveSplitters();
        }
        else
        {
            // The job's state is durable and acknowledges every partition: the splitters' offsets may follow.
            await AdoptSplitters(State.Spec!.Source!);
        }

        StartTimers();
        return new CreateJobResult(true, BuildStatus());
    }

    private async Task<int> StoreImported(CheckpointDocument document)
    {
        var imported = await checkpoints.ImportStatic(JobId, document);
        RefuseIfCreatedMeanwhile();
        // No await from the check above until the state is set: a create cannot slip in between.
        State.Spec = imported.Spec;
        State.CreatedAt = document.CreatedAt;
        State.Paths = [.. imported.Files.Select(f => f.Path)];
        State.Files = [.. imported.Files.Select(f => (PinnedFile?)f)];
        State.Book = imported.Book;
        State.Lifecycle = document.Lifecycle!;
        OpenBook();
        await WriteNow();
        return imported.Requeued;
    }

    private async Task<int> StoreImportedLive(CheckpointDocument document)
    {
        var imported = await checkpoints.ImportLive(JobId, document);
        RefuseIfCreatedMeanwhile();
        State.Spec = imported.Spec;
        State.CreatedAt = document.CreatedAt;
        State.Paths = [.. imported.Locators];
        State.Files = [];
        State.Book = new TaskBookState();
        State.Live = imported.Book;
        State.Lifecycle = document.Lifecycle ?? JobStates.Running;
        OpenBook();
        await WriteNow();
        return document.Doing?.Count ?? 0;
    }

    private void RefuseIfTaken()
    {
        if (Exists || _importing)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' exists; delete it first or import under another id (?id=)");
        }
    }

    private void RefuseIfCreatedMeanwhile()
    {
        if (Exists)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' was created while the checkpoint was read; delete it first or import under another id (?id=)");
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
