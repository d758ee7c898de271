using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Readers;

namespace OrleansShards.Silo;

/// <summary>The routes of HTTP-API.md: jobs, leases, reports, heartbeats, releases, records, health.</summary>
public static class JobEndpoints
{
    /// <summary>Maps every route of the API.</summary>
    public static IEndpointRouteBuilder MapShardsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
        app.MapGet("/readyz", (IClusterMembershipService membership, ILocalSiloDetails silo) =>
            membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active
                ? Results.Ok(new { status = "ready" })
                : Results.Problem(statusCode: 503, title: "Not ready", detail: "the silo has not joined its cluster yet"));

        var jobs = app.MapGroup("/v1/jobs").AddEndpointFilter(MapErrors);
        jobs.MapPost("", CreateJob);
        jobs.MapGet("", ListJobs);
        jobs.MapCheckpoints();
        jobs.MapGet("/{id}", (string id, IGrainFactory grains) => Job(grains, id).GetStatus());
        jobs.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
        {
            await Job(grains, id).Delete();
            return Results.NoContent();
        });
        jobs.MapPost("/{id}/pause", (string id, IGrainFactory grains) => Job(grains, id).Pause());
        jobs.MapPost("/{id}/resume", (string id, IGrainFactory grains) => Job(grains, id).Resume());
        jobs.MapPost("/{id}/cancel", (string id, IGrainFactory grains) => Job(grains, id).Cancel());
        jobs.MapPost("/{id}/leases", Lease);
        jobs.MapPost("/{id}/reports", Report);
        jobs.MapPost("/{id}/heartbeats", Heartbeat);
        jobs.MapPost("/{id}/releases", Release);
        jobs.MapGet("/{id}/tasks/{taskId}/records", Records);
        return app;
    }

    private static IJobGrain Job(IGrainFactory grains, string id) => grains.GetGrain<IJobGrain>(id);

    private static async Task<IResult> CreateJob(HttpContext context, IGrainFactory grains)
    {
        var spec = await ReadBody<JobSpec>(context);
        var id = spec.Id ?? Guid.NewGuid().ToString("N")[..12];
        var result = await Job(grains, id).Create(spec with { Id = id });
        return result.Created
            ? Results.Created($"/v1/jobs/{Uri.EscapeDataString(id)}", result.Status)
            : Results.Ok(result.Status);
    }

    private static async Task<IResult> ListJobs(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).List();
        var statuses = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                return await Job(grains, id).GetStatus();
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
            {
                return null;
            }
        }));
        return Results.Ok(new { jobs = statuses.Where(s => s is not null) });
    }

    private static async Task<IResult> Lease(string id, HttpContext context, IGrainFactory grains)
    {
        var body = await ReadBody<LeaseBody>(context);
        var batch = await Job(grains, id).Lease(new LeaseRequest(Required(body.WorkerId, "workerId"), body.MaxTasks ?? 1, body.RequestId));
        return Results.Ok(batch);
    }

    private static async Task<IResult> Report(string id, HttpContext context, IGrainFactory grains)
    {
        var body = await ReadBody<ReportBody>(context);
        if (body.Reports is { } many)
        {
            if (body.TaskId is not null || body.LeaseId is not null || body.Outcome is not null)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "reports", "a body holds either one report or 'reports', not both");
            }

            var reports = many.Select((r, i) => ToReport(r, $"reports[{i}].")).ToList();
            return Results.Ok(new { results = await Job(grains, id).ReportMany(reports) });
        }

        return Results.Ok(await Job(grains, id).Report(ToReport(body, "")));
    }

    private static TaskReport ToReport(ReportBody body, string place)
    {
        var outcome = Required(body.Outcome, place + "outcome");
        if (outcome is not ("done" or "failed"))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, place + "outcome", $"{place}outcome '{outcome}' is neither 'done' nor 'failed'");
        }

        return new TaskReport(
            Required(body.TaskId, place + "taskId"), Required(body.LeaseId, place + "leaseId"), Required(body.WorkerId, place + "workerId"), outcome == "done", body.Error);
    }

    private static async Task<IResult> Heartbeat(string id, HttpContext context, IGrainFactory grains)
    {
        var body = await ReadBody<LeasesBody>(context);
        var renewed = await Job(grains, id).Heartbeat(Required(body.WorkerId, "workerId"), body.LeaseIds ?? throw Missing("leaseIds"));
        return Results.Ok(new { leases = renewed });
    }

    private static async Task<IResult> Release(string id, HttpContext context, IGrainFactory grains)
    {
        var body = await ReadBody<LeasesBody>(context);
        var released = await Job(grains, id).Release(Required(body.WorkerId, "workerId"), body.LeaseIds ?? throw Missing("leaseIds"));
        return Results.Ok(new { released });
    }

    private static async Task<IResult> Records(
        string id, string taskId, HttpContext context, IGrainFactory grains, TaskRecordReader reader,
        string? columns = null, long? offset = null, int? limit = null, string? format = null)
    {
        if (format is not (null or "json" or "arrow"))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "format", $"format '{format}' is not served; use 'json' or 'arrow'");
        }

        var plan = await Job(grains, id).GetReadPlan();
        var projection = string.IsNullOrWhiteSpace(columns) ? null : columns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        using var page = await reader.ReadAsync(plan, taskId, offset ?? 0, limit, projection, context.RequestAborted);
        if (format == "arrow")
        {
            // An Arrow IPC stream of one record batch; nextOffset is a header (and schema metadata) since the body is no JSON.
            context.Response.ContentType = ArrowRecords.MediaType;
            if (page.NextOffset is { } next)
            {
                context.Response.Headers["X-Next-Offset"] = next.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await page.WriteArrowAsync(context.Response.Body, context.RequestAborted);
            return Results.Empty;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            page.WriteDocument(writer);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        return Results.Empty;
    }

    private static async Task<T> ReadBody<T>(HttpContext context)
        where T : class
    {
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(context.Request.Body, json, context.RequestAborted)
                ?? throw new ShardsException(ShardsErrorKind.Invalid, "body", "the body is empty or null: a JSON object is required");
        }
        catch (JsonException e)
        {
            var place = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            throw new ShardsException(ShardsErrorKind.Invalid, place, $"the body is not valid JSON for this request at '{e.Path ?? "$"}' (line {e.LineNumber + 1}): {FirstSentence(e.Message)}");
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }

    private static string Required(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw Missing(field) : value;

    private static ShardsException Missing(string field) => new(ShardsErrorKind.Invalid, field, $"{field} is required");

    private static async ValueTask<object?> MapErrors(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (ShardsException e)
        {
            var status = e.Kind switch
            {
                ShardsErrorKind.NotFound => StatusCodes.Status404NotFound,
                ShardsErrorKind.Conflict => StatusCodes.Status409Conflict,
                _ => StatusCodes.Status400BadRequest,
            };
            return Problem(status, e.Message, e.Field);
        }
        catch (SourceChangedException e)
        {
            return Problem(StatusCodes.Status409Conflict, e.Message, "taskId");
        }
        catch (MalformedRecordException e)
        {
            return Problem(StatusCodes.Status422UnprocessableEntity, e.Message, "taskId");
        }
        catch (Exception e) when (IsTransient(e))
        {
            // A silo died or the job's storage refused a write: the job comes back on its own in
            // about a second (membership) and reloads its state, so tell the worker to retry rather
            // than reporting a server bug.
            context.HttpContext.Response.Headers.RetryAfter = "1";
            return Problem(StatusCodes.Status503ServiceUnavailable, $"the cluster is recovering ({e.GetType().Name}: {e.Message}); retry the same request", null);
        }
    }

    private static bool IsTransient(Exception e) =>
        e is OrleansException or TimeoutException or OrleansShards.Providers.GrainStorageException or Orleans.Persistence.Redis.RedisStorageException or System.Data.Common.DbException { IsTransient: true }
        || (e.InnerException is { } inner && IsTransient(inner));

    private static IResult Problem(int status, string detail, string? field) =>
        Results.Problem(
            statusCode: status,
            detail: detail,
            extensions: field is null ? null : new Dictionary<string, object?> { ["field"] = field });
}
