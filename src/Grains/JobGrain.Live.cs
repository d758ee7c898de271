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
    public async Task<long> OfferShards(int partition, IReadOnlyList<OffsetRange> shards, PartitionBounds? bounds)
    {
        EnsureExists();
        if (_live is null)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "source", $"job '{JobId}' does not read a live source: its splitters do not offer shards");
        }

        if (partition < 0 || partition >= _live.PartitionCount)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partition", $"job '{JobId}' has no partition {partition}");
        }

        if (State.Lifecycle == JobStates.Cancelled)
        {
            // Nothing will be leased again: the splitters stop watching (a paused job goes on cutting).
            throw new ShardsException(ShardsErrorKind.Conflict, "state", $"job '{JobId}' is cancelled: its splitters stop");
        }

        long splitUpTo;
        var version = _live.Version;
        try
        {
            splitUpTo = _live.Offer(partition, shards, bounds);
        }
        catch (ArgumentException e)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "shards", e.Message);
        }

        if (_live.Version != version)
        {
            PublishLag();
            // The splitter adopts the offset we return: it must be durable before the splitter sees it.
            await WriteNow();
        }

        return splitUpTo;
    }

    /// <inheritdoc />
    public async Task<string> GrowPartition(int partition, string from, string to)
    {
        EnsureExists();
        if (_live is null || partition < 0 || partition >= State.Paths.Count)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partition", $"job '{JobId}' has no live partition {partition}");
        }

        if (State.Paths[partition] == from)
        {
            State.Paths[partition] = to;
            LogPartitionGrew(logger, JobId, partition);
            await WriteNow();
        }

        return State.Paths[partition];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CheckpointLease>> GetLeases()
    {
        EnsureExists();
        _book?.ExpireDue();
        IEnumerable<CheckpointLease> leases = State.Live is { } live
            ? live.InFlight.Values.Select(l => new CheckpointLease { TaskId = TaskIds.Format(0, l.Shard), LeaseId = l.LeaseId, WorkerId = l.WorkerId, Attempt = l.Attempt, ExpiresAt = l.ExpiresAt })
            : _catalog is { } catalog
                ? State.Book.InFlight.Values.Select(l => new CheckpointLease { TaskId = TaskIds.Format(l.Epoch, catalog[l.Shard]), LeaseId = l.LeaseId, WorkerId = l.WorkerId, Attempt = l.Attempt, ExpiresAt = l.ExpiresAt })
                : [];
        return Task.FromResult<IReadOnlyList<CheckpointLease>>([.. leases]);
    }

    /// <inheritdoc />
    public async Task Wake()
    {
        if (Exists && _live is not null && State.Lifecycle != JobStates.Cancelled)
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
        if (_live is null || State.Lifecycle == JobStates.Cancelled)
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

    private async Task<CreateJobResult> ImportLiveCheckpoint(CheckpointDocument document)
    {
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

        spec = spec with { Id = JobId };
        _importing = true;
        try
        {
            var locators = await readers.ResolvePartitionsAsync(spec.Source!);
            if (locators.Count < book.Partitions.Count)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "live", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the source has {locators.Count} partitions here, the checkpoint {book.Partitions.Count}"));
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
                    throw new ShardsException(ShardsErrorKind.Invalid, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"live[{p}]"),
                        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"partition {p} here holds offsets [{bounds.FirstRetained}, {bounds.HighWatermark}); the checkpoint needs [{book.Partitions[p].Committed}, {book.Partitions[p].SplitUpTo}) and more"));
                }

                book.Partitions[p].HighWatermark = bounds.HighWatermark;
                book.Partitions[p].FirstRetained = bounds.FirstRetained;
            }

            if (Exists)
            {
                throw new ShardsException(ShardsErrorKind.Conflict, "id", $"job '{JobId}' was created while the checkpoint was read; delete it first or import under another id (?id=)");
            }

            State.Spec = spec;
            State.CreatedAt = document.CreatedAt;
            State.Paths = [.. locators];
            State.Files = [];
            State.Book = new TaskBookState();
            State.Live = book;
            State.Lifecycle = document.Lifecycle ?? JobStates.Running;
            OpenBook();
            await WriteNow();
        }
        finally
        {
            _importing = false;
        }

        await GrainFactory.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).Add(JobId);
        LogImported(logger, JobId, document.JobId, document.Doing?.Count ?? 0);
        await StartLiveSplitters();
        StartTimers();
        return new CreateJobResult(true, BuildStatus());
    }

    /// <summary>Sets the lag gauge of every live partition: records appended and not yet committed.</summary>
    private void PublishLag()
    {
        if (_live is null)
        {
            return;
        }

        for (var p = 0; p < _live.PartitionCount; p++)
        {
            var partition = _live[p];
            ShardsMetrics.SetPartitionLag(JobId, p, Math.Max(partition.HighWatermark, partition.SplitUpTo) - partition.Committed);
        }
    }

    private PartitionStatus LiveStatusOf(PartitionStatus partition)
    {
        var live = _live![partition.Partition];
        var highWatermark = Math.Max(live.HighWatermark, live.SplitUpTo);
        return partition with
        {
            Records = live.SplitUpTo - live.FirstRetained,
            Shards = null,
            Acknowledged = true,
            HighWatermark = highWatermark,
            SplitUpTo = live.SplitUpTo,
            Committed = live.Committed,
            Lag = highWatermark - live.Committed,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: partition {Partition} grew: the source added to it")]
    private static partial void LogPartitionGrew(ILogger logger, string jobId, int partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: {Added} partitions added to the source; {Partitions} in all")]
    private static partial void LogPartitionsAdded(ILogger logger, string jobId, int added, int partitions);
}
