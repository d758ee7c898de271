using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// A job on a live source: the splitters of its partitions offer shards as records arrive, the job
/// holds them durably in its live task book, and a timer picks up partitions added to the source
/// and keeps the splitters running after a silo that held them went away.
/// </summary>
public sealed partial class JobGrain
{
    private async Task<CreateJobResult> CreateLive(JobSpec normalized)
    {
        var source = normalized.Source!;
        var locators = await readers.ResolvePartitionsAsync(source);
        var live = readers.LiveFor(source);
        var bounds = await Task.WhenAll(locators.Select(l => live.GetBoundsAsync(source, l).AsTask()));
        var book = new LiveBookState();
        // A job reads a partition from its first retained record on: what retention removed is gone for every reader.
        book.Partitions.AddRange(bounds.Select(b => new LivePartitionState { Committed = b.FirstRetained, SplitUpTo = b.FirstRetained, FirstRetained = b.FirstRetained, HighWatermark = b.HighWatermark }));
        State.Spec = normalized;
        State.CreatedAt = time.GetUtcNow();
        State.Paths = [.. locators];
        State.Files = [];
        State.Book = new TaskBookState();
        State.Live = book;
        State.Lifecycle = JobStates.Running;
        OpenBook();
        await state.WriteStateAsync();
        try
        {
            await StartLiveSplitters();
        }
        catch (Exception e)
        {
            LogCreateFailed(logger, e, JobId);
            await DeleteState();
            throw e is ShardsException ? e : new ShardsException(ShardsErrorKind.Invalid, "source", $"the live source cannot be watched: {e.Message}");
        }

        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).Add(JobId);
        StartTimers();
        return new CreateJobResult(true, BuildStatus());
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CheckpointLease>> GetLeases()
    {
        EnsureExists();
        _book?.Tasks.ExpireDue();
        return Task.FromResult<IReadOnlyList<CheckpointLease>>([.. _book?.LeasesInFlight() ?? []]);
    }

    /// <inheritdoc />
    public async Task Wake()
    {
        if (Exists && _book is LiveJobBook && State.Lifecycle != JobStates.Cancelled)
        {
            await StartLiveSplitters();
        }
    }

    private async Task StartLiveSplitters()
    {
        if (State.Lifecycle == JobStates.Cancelled)
        {
            return;
        }

        var spec = State.Spec!;
        var maxWait = spec.MaxWaitMs ?? JobSpec.DefaultMaxWaitMs;
        await Task.WhenAll(State.Paths.Select((locator, p) => GrainFactory.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(JobId, p))
            .StartLive(new SplitterAssignment(JobId, p, locator, spec.Source!), spec.ShardSize, maxWait)));
    }

    private async Task WatchLivePartitions()
    {
        if (_book is not LiveJobBook || State.Lifecycle == JobStates.Cancelled)
        {
            return;
        }

        try
        {
            var locators = await readers.ResolvePartitionsAsync(State.Spec!.Source!);
            if (locators.Count > State.Paths.Count)
            {
                var live = readers.LiveFor(State.Spec.Source!);
                var added = locators.Skip(State.Paths.Count).ToList();
                var bounds = await Task.WhenAll(added.Select(l => live.GetBoundsAsync(State.Spec.Source!, l).AsTask()));
                foreach (var (locator, bound) in added.Zip(bounds))
                {
                    State.Paths.Add(locator);
                    State.Live!.Partitions.Add(new LivePartitionState { Committed = bound.FirstRetained, SplitUpTo = bound.FirstRetained, FirstRetained = bound.FirstRetained, HighWatermark = bound.HighWatermark });
                }

                LogPartitionsAdded(logger, JobId, added.Count, State.Paths.Count);
                await WriteNow();
            }

            // Idempotent: a splitter whose silo went away is activated again on a live one.
            await StartLiveSplitters();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSplittersFailed(logger, e, JobId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: {Added} partitions added to the source; {Partitions} in all")]
    private static partial void LogPartitionsAdded(ILogger logger, string jobId, int added, int partitions);
}
