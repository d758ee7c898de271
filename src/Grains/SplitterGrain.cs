using System.Globalization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// One partition of a job: describes its file (records, fingerprint), offers its shards to the job
/// and persists its offset only after the job acknowledged them. On a restart it offers again what
/// it has not stored as acknowledged; the job ignores an offer it already holds.
/// </summary>
// Pinned to the name Orleans derived from the class name before it was pinned (lower case, "Grain" cut off):
// stored state and running clusters keep their identity if the class is renamed.
[GrainType("splitter")]
public sealed partial class SplitterGrain(
    [PersistentState("splitter", ShardsOptions.StorageName)] IPersistentState<SplitterState> state,
    SourceReaders readers,
    TimeProvider time,
    Microsoft.Extensions.Logging.ILogger<SplitterGrain> logger) : Grain, ISplitterGrain
{
    /// <summary>The grain key of partition <paramref name="partition"/> of <paramref name="jobId"/>.</summary>
    public static string KeyOf(string jobId, int partition) => string.Create(CultureInfo.InvariantCulture, $"{jobId}/{partition}");

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A crash between the job's acknowledgement and our own write leaves us behind the job:
        // catch up from what the job holds, never the other way round.
        if (state.State.Live is not null)
        {
            // A live partition resumes watching by itself: nothing else would call it after a restart.
            EnsureWatching();
            return;
        }

        if (!state.State.Acknowledged && TryParseKey(this.GetPrimaryKeyString(), out var jobId, out var partition))
        {
            var acknowledged = await GrainFactory.GetGrain<IJobSplitterCallbacks>(jobId).GetAcknowledgedPartition(partition);
            if (acknowledged is not null && (state.State.File is null || state.State.File == acknowledged))
            {
                state.State.Partition = partition;
                state.State.File = acknowledged;
                state.State.Acknowledged = true;
                await state.WriteStateAsync(cancellationToken);
            }
        }
    }

    /// <inheritdoc />
    public async Task<SplitterStatus> Start(SplitterAssignment assignment)
    {
        var splitter = state.State;
        if (splitter.File is null || splitter.File.Path != assignment.Path)
        {
            PartitionDescription description;
            try
            {
                description = await readers.For(assignment.Source).DescribeAsync(assignment.Path);
            }
            catch (Exception e) when (e is SourceChangedException or MalformedRecordException or PathOutsideRootsException or IOException)
            {
                // The reader's exception types are not Orleans-serializable: the job gets the reason as a ShardsException.
                throw new ShardsException(e is SourceChangedException ? ShardsErrorKind.Conflict : ShardsErrorKind.Invalid, "source", $"partition {assignment.Partition} ('{assignment.Path}') cannot be described: {e.Message}");
            }

            splitter.Partition = assignment.Partition;
            splitter.File = new PinnedFile(
                description.Path,
                description.RecordCount,
                description.Fingerprint.Length,
                description.Fingerprint.LastWriteTimeUtcTicks,
                description.Fingerprint.ContentHash);
            splitter.Acknowledged = false;
        }

        // The job acknowledges durably before it returns; only then is our offset advanced and stored.
        await GrainFactory.GetGrain<IJobSplitterCallbacks>(assignment.JobId).AcknowledgePartition(assignment.Partition, splitter.File);
        if (!splitter.Acknowledged)
        {
            splitter.Acknowledged = true;
            await state.WriteStateAsync();
        }

        return Status();
    }

    /// <inheritdoc />
    public Task<SplitterStatus> GetStatus() => Task.FromResult(Status());

    private static bool TryParseKey(string key, out string jobId, out int partition)
    {
        var slash = key.LastIndexOf('/');
        jobId = slash > 0 ? key[..slash] : "";
        partition = -1;
        return slash > 0 && int.TryParse(key.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out partition);
    }

    /// <inheritdoc />
    public async Task Delete()
    {
        StopWatching();
        await state.ClearStateAsync();
        state.State = new SplitterState();
        this.DeactivateOnIdle();
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        StopWatching();
        return Task.CompletedTask;
    }

    private SplitterStatus Status() => state.State.Live is { } live
        ? new(state.State.Partition, live.Assignment.Path, state.State.SplitUpTo, true)
        : new(state.State.Partition, state.State.File?.Path, state.State.Acknowledged ? state.State.File!.RecordCount : 0, state.State.Acknowledged);
}
