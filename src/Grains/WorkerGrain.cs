using System.Buffers;
using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// A thin worker inside the silo. It holds at most one lease, in memory only: a lease lost with the
/// activation simply expires and its shard is leased again, so nothing of it needs to be durable.
/// </summary>
// Pinned to the name Orleans derived from the class name before it was pinned (lower case, "Grain" cut off):
// stored state and running clusters keep their identity if the class is renamed.
[GrainType("worker")]
public sealed class WorkerGrain(TaskRecordReader records, TimeProvider time) : Grain, IWorkerGrain
{
    private string? _jobId;
    private TaskLease? _lease;
    private long _offset;
    private long? _nextOffset;
    private JobReadPlan? _plan;

    private string WorkerId => "worker-grain/" + this.GetPrimaryKeyString();

    /// <inheritdoc />
    public async Task<WorkerBatch> Next(string jobId, int maxRecords)
    {
        if (maxRecords < 1)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "maxRecords", "maxRecords must be at least 1");
        }

        var job = GrainFactory.GetGrain<IJobGrain>(jobId);
        if (_lease is not null && _jobId != jobId)
        {
            // The caller moved on to another job: the lease of the previous one goes back to its queue.
            await GrainFactory.GetGrain<IJobGrain>(_jobId!).Release(WorkerId, [_lease.LeaseId]);
            _lease = null;
            _nextOffset = null;
        }

        _jobId = jobId;
        // The caller asking again means it has the previous batch: a finished task is done now.
        if (_lease is not null && _nextOffset is null)
        {
            await ReportQuietly(job, done: true, error: null);
        }

        if (_lease is null)
        {
            var batch = await job.Lease(new LeaseRequest(WorkerId, 1));
            if (batch.Leases.Count == 0)
            {
                return new WorkerBatch(null, 0, 0, 0, "[]"u8.ToArray(), batch.State);
            }

            _lease = batch.Leases[0];
            _offset = 0;
            _plan = await job.GetReadPlan();
        }
        else
        {
            _offset = _nextOffset!.Value;
            if (_lease.ExpiresAt - time.GetUtcNow() < TimeSpan.FromSeconds(5))
            {
                var renewed = await job.Heartbeat(WorkerId, [_lease.LeaseId]);
                _lease = renewed[0].ExpiresAt is { } expiresAt ? _lease with { ExpiresAt = expiresAt } : _lease;
            }
        }

        try
        {
            using var page = await records.ReadAsync(_plan!, _lease.TaskId, _offset, maxRecords, null, CancellationToken.None);
            var buffer = new ArrayBufferWriter<byte>(page.Count * 64 + 16);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                page.WriteRecords(writer);
            }

            _nextOffset = page.NextOffset;
            return new WorkerBatch(_lease.TaskId, _lease.Epoch, _offset, page.Count, buffer.WrittenSpan.ToArray(), JobStates.Running);
        }
        catch (Exception e) when (e is SourceChangedException or MalformedRecordException or IOException)
        {
            // The shard cannot be read: report it failed so it is retried and, in the end, dead-lettered.
            var failed = _lease.TaskId;
            await ReportQuietly(job, done: false, error: e.Message);
            throw new ShardsException(ShardsErrorKind.Conflict, "taskId", $"task '{failed}' cannot be read: {e.Message}");
        }
    }

    private async Task ReportQuietly(IJobGrain job, bool done, string? error)
    {
        var lease = _lease!;
        _lease = null;
        _nextOffset = null;
        try
        {
            await job.Report(new TaskReport(lease.TaskId, lease.LeaseId, WorkerId, done, error));
        }
        catch (ShardsException e) when (e.Kind == ShardsErrorKind.Conflict)
        {
            // The lease expired and went to another worker: its report is no longer ours to make.
        }
    }
}
