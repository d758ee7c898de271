using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.GrainInterfaces.Http;
using OrleansShards.Readers.Arrow;
using OrleansShards.Silo.Hosting;
using OrleansShards.Silo.Serving;
using ReportAnswer = OrleansShards.GrainInterfaces.Http.ReportAnswer;

namespace OrleansShards.Silo.Http;

/// <summary>The routes of docs/http-api.md: jobs, leases, reports, heartbeats, releases, records, health.</summary>
public static class JobEndpoints
{
    /// <summary>Maps every route of the API.</summary>
    public static IEndpointRouteBuilder MapShardsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }))
            .WithTags("Operations").WithSummary("Liveness: the process serves requests").WithDescription("Always open, with or without authentication.");
        app.MapGet("/readyz", (IClusterMembershipService membership, ILocalSiloDetails silo) =>
            membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active
                ? Results.Ok(new { status = "ready" })
                : Results.Problem(statusCode: 503, title: "Not ready", detail: "the silo has not joined its cluster yet"))
            .WithTags("Operations").WithSummary("Readiness: the silo has joined its cluster").ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        var jobs = app.MapGroup("/v1/jobs").AddEndpointFilter(ApiProblems.Filter).WithTags("Jobs")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        jobs.MapPost("", CreateJob)
            .WithSummary("Create a job").WithDescription("201 with the job's status; the same spec again is 200 (idempotent); another spec under the same id is 409. A path outside the data roots is 400.")
            .Accepts<JobSpec>("application/json").Produces<JobStatus>(StatusCodes.Status201Created).Produces<JobStatus>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapGet("", ListJobs).WithSummary("List the jobs").Produces<JobListAnswer>();
        jobs.MapCheckpoints();
        jobs.MapRuns();
        jobs.MapMixtures();
        jobs.MapGet("/{id}", (string id, IGrainFactory grains) => Job(grains, id).GetStatus())
            .WithSummary("A job's status").Produces<JobStatus>().ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapDelete("/{id}", async (string id, IGrainFactory grains, ReadPlanCache plans) =>
        {
            await Job(grains, id).Delete();
            plans.Forget(id);
            return Results.NoContent();
        }).WithSummary("Delete a job and its stored state").Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapPost("/{id}/pause", (string id, IGrainFactory grains) => Job(grains, id).Pause())
            .WithSummary("Pause a job").WithDescription("No new leases; leases in flight may finish. Answers the new status.")
            .Produces<JobStatus>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/resume", (string id, IGrainFactory grains) => Job(grains, id).Resume())
            .WithSummary("Resume a paused job").Produces<JobStatus>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/cancel", (string id, IGrainFactory grains) => Job(grains, id).Cancel())
            .WithSummary("Cancel a job").WithDescription("Leases are refused from now on; the state is kept.")
            .Produces<JobStatus>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/dead-letters/retry", RetryDeadLetters)
            .WithSummary("Retry dead letters").WithDescription("Puts dead-lettered tasks of the current epoch back in the queue with a fresh count of attempts: all of them without a body, or those named in taskIds. Durable before the answer; a failed job runs again until they are done. Answers which tasks were retried and why others were not.")
            .Accepts<DeadLetterRetryBody>("application/json").Produces<DeadLetterRetry>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/leases", Lease).WithTags("Leases")
            .WithSummary("Lease tasks").WithDescription("Up to maxTasks leases; a retry with the same requestId gets the same leases. No lease now is an empty list (with retryAfterMs for a live job).")
            .Accepts<LeaseBody>("application/json").Produces<LeaseBatch>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapPost("/{id}/reports", Report).WithTags("Leases")
            .WithSummary("Report tasks done or failed").WithDescription("One report, or several as 'reports' (one durable write, one outcome each). The same report again is 200 and changes nothing; a stale lease is 409 and changes nothing.")
            .Accepts<ReportBody>("application/json").Produces<ReportAnswer>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/heartbeats", Heartbeat).WithTags("Leases")
            .WithSummary("Renew leases").WithDescription("Each lease's new expiry; null for a lease the worker no longer holds.")
            .Accepts<LeasesBody>("application/json").Produces<HeartbeatAnswer>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapPost("/{id}/releases", Release).WithTags("Leases")
            .WithSummary("Release leases").WithDescription("The leases end now and their shards go back to the queue (a worker shutting down).")
            .Accepts<LeasesBody>("application/json").Produces<ReleaseAnswer>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/tasks/{taskId}/records", RecordsEndpoint.Read).WithTags("Records")
            .WithSummary("Read a page of a task's records").WithDescription("JSON {records, nextOffset?} in source (or seeded) order, or with format=arrow an Arrow IPC stream with the next offset in the X-Next-Offset header. 409: the source file changed since the job was created; 422: a record cannot be parsed.")
            .Produces<RecordsAnswer>().AddOpenApiOperationTransformer((operation, _, _) => ShardsWeb.AddBinaryAnswer(operation, "200", ArrowRecords.MediaType))
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        app.MapTopics();
        return app;
    }

    private static IJobGrain Job(IGrainFactory grains, string id) => grains.GetGrain<IJobGrain>(id);

    private static async Task<IResult> CreateJob(HttpContext context, IGrainFactory grains, ReadPlanCache plans, IOptions<ShardsLimitsOptions> limits)
    {
        var spec = await ReadBody<JobSpec>(context);
        if (spec.Source?.Paths is { } paths)
        {
            CheckCount(paths.Count, "source.paths", limits.Value);
        }

        var id = spec.Id ?? Guid.NewGuid().ToString("N")[..12];
        var result = await Job(grains, id).Create(spec with { Id = id });
        plans.Forget(id);
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
        return Results.Ok(new JobListAnswer([.. statuses.OfType<JobStatus>()]));
    }

    private static async Task<IResult> Lease(string id, HttpContext context, IGrainFactory grains, IOptions<ShardsLimitsOptions> limits)
    {
        var body = await ReadBody<LeaseBody>(context);
        CheckId(body.WorkerId, "workerId", limits.Value);
        CheckId(body.RequestId, "requestId", limits.Value);
        var batch = await Job(grains, id).Lease(new LeaseRequest(Required(body.WorkerId, "workerId"), body.MaxTasks ?? 1, body.RequestId));
        return Results.Ok(batch);
    }

    private static async Task<IResult> Report(string id, HttpContext context, IGrainFactory grains, IOptions<ShardsLimitsOptions> limits)
    {
        var body = await ReadBody<ReportBody>(context);
        if (body.Reports is { } many)
        {
            if (body.TaskId is not null || body.LeaseId is not null || body.Outcome is not null)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "reports", "a body holds either one report or 'reports', not both");
            }

            CheckCount(many.Count, "reports", limits.Value);
            var reports = many.Select((r, i) => ToReport(r ?? throw new ShardsException(ShardsErrorKind.Invalid, $"reports[{i}]", $"reports[{i}] is null: a report object is required"), $"reports[{i}].", limits.Value)).ToList();
            return Results.Ok(new ReportAnswer(null, null, [.. (await Job(grains, id).ReportMany(reports)).Select(ReportStatuses.ToOutcome)]));
        }

        return Results.Ok(await Job(grains, id).Report(ToReport(body, "", limits.Value)));
    }

    private static TaskReport ToReport(ReportBody body, string place, ShardsLimitsOptions limits)
    {
        CheckId(body.TaskId, place + "taskId", limits);
        CheckId(body.LeaseId, place + "leaseId", limits);
        CheckId(body.WorkerId, place + "workerId", limits);
        var outcome = Required(body.Outcome, place + "outcome");
        if (outcome is not (ReportOutcomes.Done or ReportOutcomes.Failed))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, place + "outcome", $"{place}outcome '{outcome}' is neither 'done' nor 'failed'");
        }

        return new TaskReport(
            Required(body.TaskId, place + "taskId"), Required(body.LeaseId, place + "leaseId"), Required(body.WorkerId, place + "workerId"), outcome == ReportOutcomes.Done,
            body.Error is null ? null : TaskErrors.Truncate(body.Error, limits.MaxErrorLength));
    }

    private static async Task<IResult> Heartbeat(string id, HttpContext context, IGrainFactory grains, IOptions<ShardsLimitsOptions> limits)
    {
        var body = await ReadBody<LeasesBody>(context);
        CheckLeases(body, limits.Value);
        var renewed = await Job(grains, id).Heartbeat(Required(body.WorkerId, "workerId"), body.LeaseIds ?? throw Missing("leaseIds"));
        return Results.Ok(new HeartbeatAnswer(renewed));
    }

    private static async Task<IResult> Release(string id, HttpContext context, IGrainFactory grains, IOptions<ShardsLimitsOptions> limits)
    {
        var body = await ReadBody<LeasesBody>(context);
        CheckLeases(body, limits.Value);
        var released = await Job(grains, id).Release(Required(body.WorkerId, "workerId"), body.LeaseIds ?? throw Missing("leaseIds"));
        return Results.Ok(new ReleaseAnswer(released));
    }

    private static async Task<IResult> RetryDeadLetters(string id, HttpContext context, IGrainFactory grains)
    {
        IReadOnlyList<string>? taskIds = null;
        // No body: every dead letter of the current epoch.
        if (context.Request.ContentLength is not (null or 0) || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = await ReadBody<DeadLetterRetryBody>(context);
            if (body.TaskIds is { } named)
            {
                if (named.Count == 0)
                {
                    throw new ShardsException(ShardsErrorKind.Invalid, "taskIds", "taskIds is empty: name at least one task, or leave taskIds out to retry every dead letter");
                }

                if (named.Any(string.IsNullOrWhiteSpace))
                {
                    throw new ShardsException(ShardsErrorKind.Invalid, "taskIds", "taskIds holds an empty or null task id");
                }

                taskIds = named;
            }
        }

        return Results.Ok(await Job(grains, id).RetryDeadLetters(taskIds));
    }

    private static Task<T> ReadBody<T>(HttpContext context)
        where T : class => JsonBodies.ReadAsync<T>(context);

    private static string Required(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw Missing(field) : value;

    private static void CheckLeases(LeasesBody body, ShardsLimitsOptions limits)
    {
        CheckId(body.WorkerId, "workerId", limits);
        if (body.LeaseIds is { } ids)
        {
            InputCeilings.CheckIds([.. ids], "leaseIds", limits.MaxListLength, limits.MaxIdLength);
        }
    }

    /// <summary>Refuses an id longer than <see cref="ShardsLimitsOptions.MaxIdLength"/>, naming the field and the limit.</summary>
    internal static void CheckId(string? value, string field, ShardsLimitsOptions limits) => InputCeilings.CheckId(value, field, limits.MaxIdLength);

    /// <summary>Refuses a list longer than <see cref="ShardsLimitsOptions.MaxListLength"/>, naming the field and the limit.</summary>
    internal static void CheckCount(int count, string field, ShardsLimitsOptions limits)
    {
        if (count > limits.MaxListLength)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, field, $"{field} holds {count} entries; at most {limits.MaxListLength} are allowed (Shards:Limits:MaxListLength)");
        }
    }

    private static ShardsException Missing(string field) => new(ShardsErrorKind.Invalid, field, $"{field} is required");
}
