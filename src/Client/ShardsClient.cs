using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.GrainInterfaces.Http;
using Polly;
using ReportAnswer = OrleansShards.GrainInterfaces.Http.ReportAnswer;

namespace OrleansShards.Client;

/// <summary>
/// A client of the OrleansShards HTTP API (docs/http-api.md). Thread-safe; share one per process.
/// Requests that may be repeated safely are retried on 5xx answers and connection failures
/// (see <see cref="ShardsClientOptions"/>); 4xx answers throw <see cref="ShardsApiException"/> at once.
/// </summary>
public sealed partial class ShardsClient
{
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;

    /// <summary>A client over <paramref name="http"/>, whose <see cref="HttpClient.BaseAddress"/> is the server (and which carries any bearer token).</summary>
    public ShardsClient(HttpClient http, ShardsClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        Options = options ?? new ShardsClientOptions();
        _retry = HttpRetry.Create(Options);
    }

    /// <summary>The JSON settings of the API.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The retry and clock settings.</summary>
    public ShardsClientOptions Options { get; }

    /// <summary>The server's address.</summary>
    public Uri? BaseAddress => _http.BaseAddress;

    /// <summary>Creates a job; answers the existing job when the same spec was created before.</summary>
    public Task<JobStatus> CreateJobAsync(JobSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        // Without an id the server makes one, so a repeated request would make a second job.
        return SendAsync<JobStatus>(HttpMethod.Post, "v1/jobs", JsonBody(spec), cancellationToken, retry: spec.Id is not null);
    }

    /// <summary>Creates a job from its spec as JSON text (the body of <c>POST /v1/jobs</c>), sent as it is.</summary>
    public Task<JobStatus> CreateJobAsync(string specJson, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(specJson);
        var hasId = false;
        try
        {
            using var parsed = JsonDocument.Parse(specJson);
            hasId = parsed.RootElement.ValueKind == JsonValueKind.Object && parsed.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            // Sent anyway: the server names the place that is wrong.
        }

        return SendAsync<JobStatus>(HttpMethod.Post, "v1/jobs", () => new StringContent(specJson, Encoding.UTF8, "application/json"), cancellationToken, retry: hasId);
    }

    /// <summary>The status of a job.</summary>
    public Task<JobStatus> GetJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JobStatus>(HttpMethod.Get, JobPath(jobId), null, cancellationToken);

    /// <summary>The status of every job.</summary>
    public async Task<IReadOnlyList<JobStatus>> ListJobsAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync<JobListAnswer>(HttpMethod.Get, "v1/jobs", null, cancellationToken)).Jobs;

    /// <summary>Stops handing out leases of the job; leases in flight may finish.</summary>
    public Task<JobStatus> PauseJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JobStatus>(HttpMethod.Post, JobPath(jobId) + "/pause", null, cancellationToken);

    /// <summary>Hands out leases of a paused job again.</summary>
    public Task<JobStatus> ResumeJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JobStatus>(HttpMethod.Post, JobPath(jobId) + "/resume", null, cancellationToken);

    /// <summary>Refuses leases of the job from now on; its state is kept.</summary>
    public Task<JobStatus> CancelJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JobStatus>(HttpMethod.Post, JobPath(jobId) + "/cancel", null, cancellationToken);

    /// <summary>Deletes the job and its stored state.</summary>
    public async Task DeleteJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(HttpMethod.Delete, JobPath(jobId), null, cancellationToken, retry: true);
    }

    /// <summary>The job's checkpoint document.</summary>
    public Task<CheckpointDocument> ExportCheckpointAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<CheckpointDocument>(HttpMethod.Get, JobPath(jobId) + "/checkpoint", null, cancellationToken);

    /// <summary>The job's checkpoint document as the server wrote it (JSON text), to be stored and imported later.</summary>
    public async Task<string> ExportCheckpointJsonAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(HttpMethod.Get, JobPath(jobId) + "/checkpoint", null, cancellationToken, retry: true);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>Creates a job from a checkpoint document; the tasks that were in flight are re-queued.</summary>
    public Task<JobStatus> ImportCheckpointAsync(CheckpointDocument checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return SendAsync<JobStatus>(HttpMethod.Post, "v1/jobs/import", JsonBody(checkpoint), cancellationToken);
    }

    /// <summary>Creates a job from a checkpoint document given as JSON text, sent as it is.</summary>
    public Task<JobStatus> ImportCheckpointAsync(string checkpointJson, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpointJson);
        return SendAsync<JobStatus>(HttpMethod.Post, "v1/jobs/import", () => new StringContent(checkpointJson, Encoding.UTF8, "application/json"), cancellationToken);
    }

    /// <summary>
    /// Leases up to <paramref name="maxTasks"/> tasks. Retries reuse <paramref name="requestId"/>
    /// (one is made when none is given), so a retried request gets the same leases, not more.
    /// </summary>
    public Task<LeaseBatch> LeaseAsync(string jobId, string workerId, int maxTasks, string? requestId = null, CancellationToken cancellationToken = default)
    {
        requestId ??= Guid.NewGuid().ToString("N");
        return SendAsync<LeaseBatch>(HttpMethod.Post, JobPath(jobId) + "/leases", JsonBody(new LeaseBody(workerId, maxTasks, requestId)), cancellationToken);
    }

    /// <summary>Reports a task done or failed; the same report again is accepted and changes nothing, so it is retried.</summary>
    public Task<ReportResponse> ReportAsync(string jobId, TaskReport report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        return SendAsync<ReportResponse>(
            HttpMethod.Post,
            JobPath(jobId) + "/reports",
            JsonBody(ReportBody.Of(report)),
            cancellationToken);
    }

    /// <summary>Reports several tasks with one request and one durable write on the server; each gets its own outcome.</summary>
    public async Task<IReadOnlyList<ReportOutcome>> ReportManyAsync(string jobId, IReadOnlyList<TaskReport> reports, CancellationToken cancellationToken = default) =>
        (await SendAsync<ReportAnswer>(
            HttpMethod.Post,
            JobPath(jobId) + "/reports",
            JsonBody(new ReportBody(null, null, null, null, null, [.. reports.Select(ReportBody.Of)])),
            cancellationToken)).Results
        ?? throw new ShardsApiException(200, $"POST {JobPath(jobId)}/reports answered no results", "results");

    /// <summary>Extends leases; a lease the worker no longer holds comes back with no expiry.</summary>
    public async Task<IReadOnlyList<LeaseRenewal>> HeartbeatAsync(string jobId, string workerId, IReadOnlyList<string> leaseIds, CancellationToken cancellationToken = default) =>
        (await SendAsync<HeartbeatAnswer>(HttpMethod.Post, JobPath(jobId) + "/heartbeats", JsonBody(new LeasesBody(workerId, leaseIds)), cancellationToken)).Leases;

    /// <summary>Ends leases now; their shards go back to the queue.</summary>
    public async Task<int> ReleaseAsync(string jobId, string workerId, IReadOnlyList<string> leaseIds, CancellationToken cancellationToken = default) =>
        (await SendAsync<ReleaseAnswer>(HttpMethod.Post, JobPath(jobId) + "/releases", JsonBody(new LeasesBody(workerId, leaseIds)), cancellationToken)).Released;

    /// <summary>One page of the records of a task.</summary>
    public async Task<RecordsPage> GetRecordsAsync(string jobId, string taskId, long offset = 0, int? limit = null, IReadOnlyList<string>? columns = null, CancellationToken cancellationToken = default)
    {
        var query = $"{JobPath(jobId)}/tasks/{Uri.EscapeDataString(taskId)}/records?offset={offset}"
            + (limit is { } l ? $"&limit={l}" : "")
            + (columns is { Count: > 0 } ? "&columns=" + Uri.EscapeDataString(string.Join(',', columns)) : "");
        using var response = await SendRawAsync(HttpMethod.Get, query, null, cancellationToken, retry: true, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return new RecordsPage(await JsonDocument.ParseAsync(body, default, cancellationToken));
    }

    /// <summary>
    /// Leases the job's tasks one after another for as long as it runs, renewing the leases in the
    /// background before they expire. Moving on to the next task reports the previous one done
    /// (unless it was reported with <see cref="LeasedTask.CompleteAsync"/> or <see cref="LeasedTask.FailAsync"/>);
    /// leaving the loop (a <c>break</c>, an exception, a cancellation) releases every lease still held,
    /// so the shards go back to the queue at once. The enumeration ends when the job has ended.
    /// </summary>
    public IAsyncEnumerable<LeasedTask> ConsumeAsync(string jobId, ConsumeOptions? options = null, CancellationToken cancellationToken = default) =>
        new TaskConsumer(this, jobId, options ?? new ConsumeOptions()).ConsumeAsync(cancellationToken);

    /// <summary>
    /// Runs <paramref name="handler"/> on every task of the job until the job ends or
    /// <paramref name="cancellationToken"/> is cancelled: a task whose handler returns is reported
    /// done, one whose handler throws is reported failed with the exception's message. Leases are
    /// renewed while the handler runs and released when the loop stops. Returns the tasks handled.
    /// </summary>
    public Task<ConsumeSummary> ProcessAsync(string jobId, Func<LeasedTask, CancellationToken, Task> handler, ConsumeOptions? options = null, CancellationToken cancellationToken = default) =>
        new TaskConsumer(this, jobId, options ?? new ConsumeOptions()).ProcessAsync(handler, cancellationToken);

    /// <summary>
    /// Re-queues dead-lettered tasks of the job's current epoch with a fresh count of attempts: every one when
    /// <paramref name="taskIds"/> is null, else those named. Says which were retried and why others were not.
    /// </summary>
    public Task<DeadLetterRetry> RetryDeadLettersAsync(string jobId, IReadOnlyList<string>? taskIds = null, CancellationToken cancellationToken = default) =>
        SendAsync<DeadLetterRetry>(HttpMethod.Post, JobPath(jobId) + "/dead-letters/retry", taskIds is null ? null : JsonBody(new DeadLetterRetryBody(taskIds)), cancellationToken);

    /// <summary>Creates a topic of the built-in log.</summary>
    public async Task CreateTopicAsync(string name, int partitions, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(HttpMethod.Post, "v1/topics", JsonBody(new CreateTopicBody(name, partitions)), cancellationToken, retry: true);
    }

    /// <summary>
    /// Appends records (JSON values) to a topic partition; returns once they are durable. Not
    /// retried: a repeated append would store the records twice.
    /// </summary>
    public Task<AppendResult> AppendAsync(string topic, int partition, IEnumerable<JsonElement> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records.ToList();
        return SendAsync<AppendResult>(HttpMethod.Post, TopicPath(topic, partition) + "/records", JsonBody(list), cancellationToken, retry: false);
    }

    /// <summary>Reads up to <paramref name="limit"/> records of a topic partition from offset <paramref name="from"/>.</summary>
    public Task<TopicPage> ReadTopicAsync(string topic, int partition, long from = 0, int? limit = null, CancellationToken cancellationToken = default) =>
        SendAsync<TopicPage>(HttpMethod.Get, $"{TopicPath(topic, partition)}/records?from={from}" + (limit is { } l ? $"&limit={l}" : ""), null, cancellationToken);

    /// <summary>
    /// The records of a topic partition from offset <paramref name="from"/> over Server-Sent Events,
    /// the ones that land later included, until cancelled. A dropped connection is resumed from the
    /// offset after the last record seen.
    /// </summary>
    public async IAsyncEnumerable<TopicRecord> StreamTopicAsync(string topic, int partition, long from = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = from;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpResponseMessage response;
            try
            {
                response = await SendRawAsync(HttpMethod.Get, $"{TopicPath(topic, partition)}/stream?from={next}", null, cancellationToken, retry: true, HttpCompletionOption.ResponseHeadersRead);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            using (response)
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                var parser = SseParser.Create(stream).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
                try
                {
                    while (true)
                    {
                        try
                        {
                            if (!await parser.MoveNextAsync())
                            {
                                break;
                            }
                        }
                        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                        {
                            yield break;
                        }
                        catch (Exception e) when (e is HttpRequestException or IOException)
                        {
                            break;
                        }

                        var item = parser.Current;
                        var offset = long.TryParse(item.EventId, out var id) ? id : next;
                        using var value = JsonDocument.Parse(item.Data);
                        failures = 0;
                        next = offset + 1;
                        yield return new TopicRecord(offset, value.RootElement.Clone());
                    }
                }
                finally
                {
                    await parser.DisposeAsync();
                }
            }

            // The server closed the stream: come back after a pause that grows while nothing arrives.
            failures++;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * (1 << Math.Min(failures, 6)))), Options.TimeProvider, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }

    private static string JobPath(string jobId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        return $"v1/jobs/{Uri.EscapeDataString(jobId)}";
    }

    private static string TopicPath(string topic, int partition)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        return $"v1/topics/{Uri.EscapeDataString(topic)}/partitions/{partition}";
    }

    private static Func<HttpContent> JsonBody(object body) => () => JsonContent.Create(body, body.GetType(), options: Json);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, Func<HttpContent>? body, CancellationToken cancellationToken, bool retry = true)
    {
        using var response = await SendRawAsync(method, path, body, cancellationToken, retry);
        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new ShardsApiException((int)response.StatusCode, $"{method} {path} answered an empty body", null);
    }

    /// <summary>Sends a request (again on transient failures when <paramref name="retry"/>) and throws on an error answer.</summary>
    private async Task<HttpResponseMessage> SendRawAsync(
        HttpMethod method, string path, Func<HttpContent>? body, CancellationToken cancellationToken, bool retry, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var pipeline = retry ? _retry : ResiliencePipeline<HttpResponseMessage>.Empty;
        var response = await pipeline.ExecuteAsync(
            async token =>
            {
                // A request message is sent once: every attempt builds its own.
                using var request = new HttpRequestMessage(method, path) { Content = body?.Invoke() };
                return await _http.SendAsync(request, completion, token);
            },
            cancellationToken);
        try
        {
            await ThrowIfFailed(response, cancellationToken);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task ThrowIfFailed(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var detail = string.IsNullOrWhiteSpace(text) ? $"{(int)response.StatusCode} {response.ReasonPhrase}" : text;
        string? field = null;
        try
        {
            using var problem = JsonDocument.Parse(text);
            if (problem.RootElement.ValueKind == JsonValueKind.Object)
            {
                detail = problem.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()!
                    : problem.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
                    : detail;
                field = problem.RootElement.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            }
        }
        catch (JsonException)
        {
            // Not a ProblemDetails body: keep the text as it came.
        }

        if (response.StatusCode == HttpStatusCode.NotFound && string.IsNullOrWhiteSpace(text))
        {
            detail = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: no such route or resource (404)";
        }

        throw new ShardsApiException((int)response.StatusCode, detail, field);
    }
}
