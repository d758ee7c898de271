using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Client;

/// <summary>An error answer of the API (an RFC 9457 ProblemDetails), with the field at fault when the server named one.</summary>
public sealed class ShardsApiException(int status, string detail, string? field)
    : Exception($"HTTP {status}: {detail}")
{
    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The server's explanation.</summary>
    public string Detail { get; } = detail;

    /// <summary>The field or place at fault, if named.</summary>
    public string? Field { get; } = field;
}

/// <summary>One page of records of a task, as the server sent it.</summary>
public sealed class RecordsPage : IDisposable
{
    internal RecordsPage(JsonDocument document)
    {
        Document = document;
        Records = document.RootElement.GetProperty("records");
        NextOffset = document.RootElement.TryGetProperty("nextOffset", out var next) ? next.GetInt64() : null;
    }

    /// <summary>The parsed answer.</summary>
    public JsonDocument Document { get; }

    /// <summary>The records: a JSON array of objects.</summary>
    public JsonElement Records { get; }

    /// <summary>The offset of the next page, when records of the shard remain.</summary>
    public long? NextOffset { get; }

    /// <inheritdoc />
    public void Dispose() => Document.Dispose();
}

/// <summary>
/// A client of the OrleansShards HTTP API (HTTP-API.md). Thread-safe; share one per process.
/// </summary>
public sealed class ShardsClient(HttpClient http)
{
    /// <summary>The JSON settings of the API.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Creates a job; answers the existing job when the same spec was created before.</summary>
    public Task<JobStatus> CreateJobAsync(JobSpec spec, CancellationToken cancellationToken = default) =>
        SendAsync<JobStatus>(HttpMethod.Post, "v1/jobs", spec, cancellationToken);

    /// <summary>The status of a job.</summary>
    public Task<JobStatus> GetJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JobStatus>(HttpMethod.Get, $"v1/jobs/{Uri.EscapeDataString(jobId)}", null, cancellationToken);

    /// <summary>Leases up to <paramref name="maxTasks"/> tasks.</summary>
    public Task<LeaseBatch> LeaseAsync(string jobId, string workerId, int maxTasks, string? requestId = null, CancellationToken cancellationToken = default) =>
        SendAsync<LeaseBatch>(HttpMethod.Post, $"v1/jobs/{Uri.EscapeDataString(jobId)}/leases", new { workerId, maxTasks, requestId }, cancellationToken);

    /// <summary>Reports a task done or failed.</summary>
    public Task<ReportResponse> ReportAsync(string jobId, TaskReport report, CancellationToken cancellationToken = default) =>
        SendAsync<ReportResponse>(
            HttpMethod.Post,
            $"v1/jobs/{Uri.EscapeDataString(jobId)}/reports",
            new { taskId = report.TaskId, leaseId = report.LeaseId, workerId = report.WorkerId, outcome = report.Done ? "done" : "failed", error = report.Error },
            cancellationToken);

    /// <summary>Reports several tasks with one request and one durable write on the server; each gets its own outcome.</summary>
    public async Task<IReadOnlyList<ReportOutcome>> ReportManyAsync(string jobId, IReadOnlyList<TaskReport> reports, CancellationToken cancellationToken = default) =>
        (await SendAsync<ReportManyAnswer>(
            HttpMethod.Post,
            $"v1/jobs/{Uri.EscapeDataString(jobId)}/reports",
            new { reports = reports.Select(r => new { taskId = r.TaskId, leaseId = r.LeaseId, workerId = r.WorkerId, outcome = r.Done ? "done" : "failed", error = r.Error }) },
            cancellationToken)).Results;

    /// <summary>Extends leases.</summary>
    public async Task<IReadOnlyList<LeaseRenewal>> HeartbeatAsync(string jobId, string workerId, IReadOnlyList<string> leaseIds, CancellationToken cancellationToken = default) =>
        (await SendAsync<HeartbeatAnswer>(HttpMethod.Post, $"v1/jobs/{Uri.EscapeDataString(jobId)}/heartbeats", new { workerId, leaseIds }, cancellationToken)).Leases;

    /// <summary>Ends leases now; their shards go back to the queue.</summary>
    public async Task<int> ReleaseAsync(string jobId, string workerId, IReadOnlyList<string> leaseIds, CancellationToken cancellationToken = default) =>
        (await SendAsync<ReleaseAnswer>(HttpMethod.Post, $"v1/jobs/{Uri.EscapeDataString(jobId)}/releases", new { workerId, leaseIds }, cancellationToken)).Released;

    /// <summary>One page of the records of a task.</summary>
    public async Task<RecordsPage> GetRecordsAsync(string jobId, string taskId, long offset = 0, int? limit = null, IReadOnlyList<string>? columns = null, CancellationToken cancellationToken = default)
    {
        var query = $"v1/jobs/{Uri.EscapeDataString(jobId)}/tasks/{Uri.EscapeDataString(taskId)}/records?offset={offset}"
            + (limit is { } l ? $"&limit={l}" : "")
            + (columns is { Count: > 0 } ? "&columns=" + Uri.EscapeDataString(string.Join(',', columns)) : "");
        using var response = await http.GetAsync(query, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await ThrowIfFailed(response, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return new RecordsPage(await JsonDocument.ParseAsync(body, default, cancellationToken));
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        await ThrowIfFailed(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new ShardsApiException((int)response.StatusCode, $"{method} {path} answered an empty body", null);
    }

    private static async Task ThrowIfFailed(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        string detail = text;
        string? field = null;
        try
        {
            using var problem = JsonDocument.Parse(text);
            detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? text : text;
            field = problem.RootElement.TryGetProperty("field", out var f) ? f.GetString() : null;
        }
        catch (JsonException)
        {
            // Not a ProblemDetails body: keep the text as it came.
        }

        throw new ShardsApiException((int)response.StatusCode, detail, field);
    }

    private sealed record HeartbeatAnswer(IReadOnlyList<LeaseRenewal> Leases);

    private sealed record ReleaseAnswer(int Released);

    private sealed record ReportManyAnswer(IReadOnlyList<ReportOutcome> Results);
}
