using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace OrleansShards.Client;

/// <summary>The run routes (docs/http-api.md, "Runs"): synchronous data-parallel training with equal batches per rank.</summary>
public sealed partial class ShardsClient
{
    /// <summary>
    /// Creates a run over a job; answers the existing run when the same spec was created before (so it is retried),
    /// and throws a 409 <see cref="ShardsApiException"/> when another spec holds the name.
    /// </summary>
    public Task<TrainingRun> CreateRunAsync(string jobId, RunCreateRequest spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return SendAsync<TrainingRun>(HttpMethod.Post, JobPath(jobId) + "/runs", JsonBody(spec), cancellationToken);
    }

    /// <summary>The status of a run: its committed step and where its ranks resume.</summary>
    public Task<TrainingRun> GetRunAsync(string jobId, string run, CancellationToken cancellationToken = default) =>
        SendAsync<TrainingRun>(HttpMethod.Get, RunPath(jobId, run), null, cancellationToken);

    /// <summary>The status of every run of a job.</summary>
    public async Task<IReadOnlyList<TrainingRun>> ListRunsAsync(string jobId, CancellationToken cancellationToken = default) =>
        (await SendAsync<TrainingRunList>(HttpMethod.Get, JobPath(jobId) + "/runs", null, cancellationToken)).Runs;

    /// <summary>Deletes a run and its stored state (the job is untouched).</summary>
    public async Task DeleteRunAsync(string jobId, string run, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(HttpMethod.Delete, RunPath(jobId, run), null, cancellationToken, retry: true);
    }

    /// <summary>
    /// Commits step (<paramref name="epoch"/>, <paramref name="step"/>): call it after the trainer's checkpoint that
    /// holds that step is durable. The commit is durable when this returns. The same commit again is accepted (so it
    /// is retried); an earlier step than the committed one is a 409 <see cref="ShardsApiException"/>.
    /// </summary>
    public Task<TrainingRun> CommitAsync(string jobId, string run, int epoch, long step, string? checkpoint = null, CancellationToken cancellationToken = default) =>
        SendAsync<TrainingRun>(HttpMethod.Post, RunPath(jobId, run) + "/commits", JsonBody(new CommitBody(epoch, step, checkpoint)), cancellationToken);

    /// <summary>
    /// Rewinds the run to the commit named <paramref name="checkpoint"/> (the trainer restored that older checkpoint):
    /// <see cref="TrainingRun.ResumeAt"/> becomes the step after it and the later commits are forgotten.
    /// </summary>
    public Task<TrainingRun> RewindAsync(string jobId, string run, string checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpoint);
        return SendAsync<TrainingRun>(HttpMethod.Post, RunPath(jobId, run) + "/rewind", JsonBody(new RewindToCheckpoint(checkpoint)), cancellationToken);
    }

    /// <summary>Rewinds the run to an earlier committed step; see <see cref="RewindAsync(string, string, string, CancellationToken)"/>.</summary>
    public Task<TrainingRun> RewindAsync(string jobId, string run, RunStep committed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(committed);
        return SendAsync<TrainingRun>(HttpMethod.Post, RunPath(jobId, run) + "/rewind", JsonBody(new RewindToStep(committed.Epoch, committed.Step)), cancellationToken);
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s batch of one step for world size <paramref name="worldSize"/>: exactly G/W
    /// records, the same ones whenever it is asked (so it is retried). A step of a live run that is not full after
    /// <paramref name="wait"/> comes back with <see cref="RankBatch.IsPending"/> set and no records. Bad arguments
    /// (W not dividing G, a rank outside [0, W), a step or epoch out of range) are a 400 <see cref="ShardsApiException"/>
    /// naming the field.
    /// </summary>
    public async Task<RankBatch> GetBatchAsync(
        string jobId, string run, int epoch, long step, int rank, int worldSize,
        IReadOnlyList<string>? columns = null, BatchFormat format = BatchFormat.Json, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"{RunPath(jobId, run)}/batches?epoch={epoch}&step={step}&rank={rank}&worldSize={worldSize}")
            + (columns is { Count: > 0 } ? "&columns=" + Uri.EscapeDataString(string.Join(',', columns)) : "")
            + (format == BatchFormat.Arrow ? "&format=arrow" : "")
            + (wait is { } w ? string.Create(CultureInfo.InvariantCulture, $"&waitMs={(long)w.TotalMilliseconds}") : "");
        using var response = await SendRawAsync(HttpMethod.Get, query, null, cancellationToken, retry: true, HttpCompletionOption.ResponseHeadersRead);
        var position = new RunStep(epoch, step);
        var headerRetry = response.Headers.RetryAfter?.Delta;
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            // A live step not full yet, as the first draft of the HTTP contract wrote it (204); the 200 with no records (docs/http-api.md) is below.
            return new RankBatch(position, rank, worldSize, null, null, pending: true, headerRetry);
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        if (response.Content.Headers.ContentType?.MediaType is { } media && media.Contains("arrow", StringComparison.OrdinalIgnoreCase))
        {
            using var buffer = new MemoryStream();
            await body.CopyToAsync(buffer, cancellationToken);
            return new RankBatch(position, rank, worldSize, null, buffer.ToArray(), pending: false, null);
        }

        var document = await JsonDocument.ParseAsync(body, default, cancellationToken);
        try
        {
            var root = document.RootElement;
            TimeSpan? retryAfter = root.TryGetProperty("retryAfterMs", out var ms) && ms.ValueKind == JsonValueKind.Number
                ? TimeSpan.FromMilliseconds(ms.GetDouble())
                : headerRetry;
            var pending = root.TryGetProperty("records", out var records) && records.ValueKind == JsonValueKind.Array && records.GetArrayLength() == 0 && retryAfter is not null;
            if (!root.TryGetProperty("records", out _))
            {
                throw new ShardsApiException((int)response.StatusCode, $"GET {query} answered without \"records\"", null);
            }

            return new RankBatch(position, rank, worldSize, document, null, pending, retryAfter);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s batches of world size <paramref name="worldSize"/>, one per step in order, from
    /// the run's <see cref="TrainingRun.ResumeAt"/> (or <see cref="RunReadOptions.From"/>) to the end of the job (or of
    /// the first epoch with <see cref="RunReadOptions.SingleEpoch"/>). Every rank of a trainer runs one of these with
    /// the same world size and gets equal batches, so the collectives never hang on a rank with one batch fewer.
    /// A live run's one epoch never ends: the enumeration waits for each step to fill (asking again after the
    /// server's <c>retryAfterMs</c>) until <paramref name="cancellationToken"/> is cancelled.
    /// <see cref="RunReadOptions.Prefetch"/> requests are kept in flight ahead of the caller. The caller disposes the
    /// batches; leaving the loop cancels and disposes the ones fetched ahead.
    /// </summary>
    public async IAsyncEnumerable<RankBatch> ReadRunAsync(
        string jobId, string run, int rank, int worldSize, RunReadOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new RunReadOptions();
        var status = await GetRunAsync(jobId, run, cancellationToken);
        var start = options.From ?? status.ResumeAt;
        var lastEpoch = options.SingleEpoch ? Math.Min(start.Epoch, status.Epochs - 1) : status.Epochs - 1;

        using var ahead = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var inFlight = new Queue<Task<RankBatch>>();
        using var steps = Steps(start, lastEpoch, status.StepsPerEpoch).GetEnumerator();
        try
        {
            while (true)
            {
                while (inFlight.Count <= Math.Max(0, options.Prefetch) && steps.MoveNext())
                {
                    inFlight.Enqueue(FetchFullAsync(jobId, run, steps.Current, rank, worldSize, options, ahead.Token));
                }

                if (inFlight.Count == 0)
                {
                    yield break;
                }

                yield return await inFlight.Dequeue();
            }
        }
        finally
        {
            await ahead.CancelAsync();
            foreach (var task in inFlight)
            {
                try
                {
                    (await task).Dispose();
                }
                catch (Exception)
                {
                    // A batch fetched ahead and never handed out: its failure (most often the cancellation) concerns nobody.
                }
            }
        }
    }

    /// <summary>The steps from <paramref name="start"/> to the end of <paramref name="lastEpoch"/>; endless in a live run's epoch.</summary>
    private static IEnumerable<RunStep> Steps(RunStep start, int lastEpoch, long? stepsPerEpoch)
    {
        var step = start.Step;
        for (var epoch = start.Epoch; epoch <= lastEpoch; epoch++, step = 0)
        {
            for (; stepsPerEpoch is not { } n || step < n; step++)
            {
                yield return new RunStep(epoch, step);
            }
        }
    }

    private async Task<RankBatch> FetchFullAsync(string jobId, string run, RunStep position, int rank, int worldSize, RunReadOptions options, CancellationToken cancellationToken)
    {
        while (true)
        {
            var batch = await GetBatchAsync(jobId, run, position.Epoch, position.Step, rank, worldSize, options.Columns, options.Format, options.Wait, cancellationToken);
            if (!batch.IsPending)
            {
                return batch;
            }

            var wait = batch.RetryAfter ?? options.DefaultRetryAfter;
            batch.Dispose();
            await Task.Delay(wait > TimeSpan.Zero ? wait : options.DefaultRetryAfter, Options.TimeProvider, cancellationToken);
        }
    }

    private static string RunPath(string jobId, string run)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(run);
        return $"{JobPath(jobId)}/runs/{Uri.EscapeDataString(run)}";
    }

    private sealed record CommitBody(int Epoch, long Step, string? Checkpoint);

    private sealed record RewindToCheckpoint(string Checkpoint);

    private sealed record RewindToStep(int Epoch, long Step);
}
