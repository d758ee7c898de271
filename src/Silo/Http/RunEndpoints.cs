using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The training run routes of issue 14 (docs/runs.md): create, list, status, batches per rank, commits, rewind,
/// delete. State changes go to the run grain; batches are read on the silo that serves the request, through
/// <see cref="RunBatchReader"/>.
/// </summary>
public static partial class RunEndpoints
{
    /// <summary>Maps the run routes onto the <c>/v1/jobs</c> group (whose filter turns errors into ProblemDetails).</summary>
    public static RouteGroupBuilder MapRuns(this RouteGroupBuilder jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        jobs.MapPost("/{id}/runs", CreateRun).WithTags("Runs")
            .WithSummary("Create a training run").WithDescription("Body {run, globalBatchSize, dropRemainder?}. 201 with the run's status; the same spec again is 200; another spec under that name is 409. 404: unknown job; 409 while the job is still describing its source.")
            .Accepts<RunCreateBody>("application/json").Produces<RunStatus>(StatusCodes.Status201Created).Produces<RunStatus>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapGet("/{id}/runs", ListRuns).WithTags("Runs")
            .WithSummary("List a job's runs").WithDescription("{runs: [status, ...]}.").Produces<RunListAnswer>().ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/runs/{run}", async (string id, string run, HttpContext context, IGrainFactory grains, RunBatchReader reader) =>
                Results.Json(WithServing(await Run(grains, id, run).GetStatus(), reader, JsonOf(context))))
            .WithTags("Runs").WithSummary("A run's status").WithDescription("Committed step, resumeAt, stepsPerEpoch, epochs, finished, and how this silo served its batches (fetches, prefetch hits, latency p50/p99).")
            .Produces<RunStatus>().ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/runs/{run}/batches", Batch).WithTags("Runs")
            .WithSummary("A rank's batch of a step").WithDescription("?epoch=E&step=S&rank=R&worldSize=W[&columns=a,b][&format=arrow][&waitMs=..]: exactly G/W records, positions [S·G + R·G/W, S·G + (R+1)·G/W) of epoch E's global order. 400 names the field when W does not divide G or R, S or E is out of range. Live runs: one epoch 0, each step sealed before it is first served; a step not full after waitMs answers 200 {records: [], retryAfterMs}.")
            .Produces<RunBatchAnswer>().AddOpenApiOperationTransformer((operation, _, _) => ShardsWeb.AddBinaryAnswer(operation, "200", ArrowRecords.MediaType))
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/runs/{run}/commits", Commit).WithTags("Runs")
            .WithSummary("Commit a step").WithDescription("Body {epoch, step, checkpoint?}, after the trainer's checkpoint holding the step is durable. Durable before it answers; the same commit again is 200; a step before the committed one is 409 naming it.")
            .Accepts<RunCommitBody>("application/json").Produces<RunStatus>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/runs/{run}/rewind", Rewind).WithTags("Runs")
            .WithSummary("Rewind to an earlier commit").WithDescription("Body {checkpoint} or {epoch, step} of a kept commit: resumeAt is the step after it and later commits are forgotten. 404 when no kept commit matches; live runs: 409 naming the first retained offset when the records after that commit are gone.")
            .Accepts<RunRewindBody>("application/json").Produces<RunStatus>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapDelete("/{id}/runs/{run}", async (string id, string run, IGrainFactory grains, RunBatchReader reader) =>
            {
                await Run(grains, id, run).Delete();
                reader.Forget(id, run);
                return Results.NoContent();
            })
            .WithTags("Runs").WithSummary("Delete a run").Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return jobs;
    }

    private static IRunGrain Run(IGrainFactory grains, string jobId, string run)
    {
        CheckName(run);
        return grains.GetGrain<IRunGrain>(IRunGrain.KeyOf(jobId, run));
    }

    private static void CheckName(string? run)
    {
        if (string.IsNullOrEmpty(run) || run.Length > 128 || run.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "run", "run must be 1 to 128 characters of letters, digits, '-', '_' or '.'");
        }
    }

    private static async Task<IResult> CreateRun(string id, HttpContext context, IGrainFactory grains, RunBatchReader reader)
    {
        var body = await ReadBody<RunCreateBody>(context);
        if (string.IsNullOrWhiteSpace(body.Run))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "run", "run is required: the run's name");
        }

        if (body.GlobalBatchSize is not { } size)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "globalBatchSize", "globalBatchSize is required");
        }

        var result = await Run(grains, id, body.Run).Create(new RunSpec(size, body.DropRemainder ?? true));
        var answer = WithServing(result.Status, reader, JsonOf(context));
        return result.Created
            ? Results.Json(answer, statusCode: StatusCodes.Status201Created)
            : Results.Json(answer);
    }

    private static async Task<IResult> ListRuns(string id, IGrainFactory grains, RunBatchReader reader, HttpContext context)
    {
        // An unknown job is 404, not an empty list.
        await grains.GetGrain<IJobGrain>(id).GetStatus();
        var names = await grains.GetGrain<IJobRunsGrain>(id).List();
        var statuses = await Task.WhenAll(names.Select(async name =>
        {
            try
            {
                return await Run(grains, id, name).GetStatus();
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
            {
                return null;
            }
        }));
        var json = JsonOf(context);
        return Results.Json(new JsonObject { ["runs"] = new JsonArray([.. statuses.Where(s => s is not null).Select(s => (JsonNode)WithServing(s!, reader, json))]) });
    }

    private static async Task<IResult> Commit(string id, string run, HttpContext context, IGrainFactory grains, RunBatchReader reader)
    {
        var body = await ReadBody<RunCommitBody>(context);
        var epoch = body.Epoch ?? throw new ShardsException(ShardsErrorKind.Invalid, "epoch", "epoch is required");
        var step = body.Step ?? throw new ShardsException(ShardsErrorKind.Invalid, "step", "step is required");
        if (body.Checkpoint is { Length: 0 or > 256 })
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "checkpoint", "checkpoint must be 1 to 256 characters when given");
        }

        return Results.Json(WithServing(await Run(grains, id, run).Commit(epoch, step, body.Checkpoint), reader, JsonOf(context)));
    }

    private static async Task<IResult> Rewind(string id, string run, HttpContext context, IGrainFactory grains, RunBatchReader reader)
    {
        var body = await ReadBody<RunRewindBody>(context);
        if (body.Checkpoint is null && (body.Epoch is null || body.Step is null))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, body.Epoch is null && body.Step is null ? "checkpoint" : body.Epoch is null ? "epoch" : "step", "a rewind names a checkpoint, or an epoch and a step of a kept commit");
        }

        if (body.Checkpoint is not null && (body.Epoch is not null || body.Step is not null))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "checkpoint", "a rewind names a checkpoint or an epoch and a step, not both");
        }

        return Results.Json(WithServing(await Run(grains, id, run).Rewind(body.Checkpoint, body.Epoch, body.Step), reader, JsonOf(context)));
    }

    private static async Task<IResult> Batch(string id, string run, HttpContext context, IGrainFactory grains, RunBatchReader reader)
    {
        var query = context.Request.Query;
        var format = query["format"].ToString();
        if (format is not ("" or "json" or "arrow"))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "format", $"format '{format}' is not served; use 'json' or 'arrow'");
        }

        var epoch = Number(query, "epoch", int.MaxValue);
        var step = Number(query, "step", long.MaxValue);
        var rank = Number(query, "rank", int.MaxValue);
        var worldSize = Number(query, "worldSize", int.MaxValue);
        // Only live runs wait for records; the number is still checked so a typo is not silently ignored.
        var waitMs = query.ContainsKey("waitMs") ? Number(query, "waitMs", 600_000) : 0;
        if (waitMs < 0)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "waitMs", $"waitMs {waitMs} must be at least 0");
        }

        var columns = query["columns"].ToString();
        var projection = string.IsNullOrWhiteSpace(columns) ? null : columns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Over a mixture the step is recorded as served (durable) before it is read, so no re-weighting can change it later.
        CheckName(run);
        var plan = await grains.GetGrain<IRunMixtureGrain>(IRunGrain.KeyOf(id, run)).ServeStep((int)epoch, step, (int)rank, (int)worldSize);
        if (plan.Job.Live)
        {
            await LiveBatch(context, Run(grains, id, run), id, run, plan.Steps.GlobalBatchSize, epoch, step, rank, worldSize, TimeSpan.FromMilliseconds(waitMs), projection, format);
            return Results.Empty;
        }

        var batch = await reader.ReadAsync(id, run, plan, (int)epoch, step, (int)rank, (int)worldSize, projection, context.RequestAborted);
        await WriteBatch(context, batch, epoch, step, rank, worldSize, format);
        return Results.Empty;
    }

    /// <summary>Writes a rank's batch as JSON or as an Arrow IPC stream.</summary>
    private static async Task WriteBatch(HttpContext context, RunBatch batch, long epoch, long step, long rank, long worldSize, string format)
    {
        if (format == "arrow")
        {
            context.Response.ContentType = ArrowRecords.MediaType;
            KeyValuePair<string, string>[] metadata =
            [
                new("epoch", epoch.ToString(CultureInfo.InvariantCulture)),
                new("step", step.ToString(CultureInfo.InvariantCulture)),
                new("rank", rank.ToString(CultureInfo.InvariantCulture)),
                new("worldSize", worldSize.ToString(CultureInfo.InvariantCulture)),
            ];
            try
            {
                // A batch that mixes shards is typed from its JSON values: bounded like a page of a schemaless source.
                using var bound = ArrowRecords.Bound(context.RequestServices.GetRequiredService<IOptions<ShardsOptions>>().Value.Reads);
                await batch.WriteArrowAsync(context.Response.Body, metadata, context.RequestAborted);
            }
            catch (ArrowAnswerTooLargeException e)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, "columns", e.Message);
            }

            return;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteNumber("epoch"u8, epoch);
            writer.WriteNumber("step"u8, step);
            writer.WriteNumber("rank"u8, rank);
            writer.WriteNumber("worldSize"u8, worldSize);
            writer.WritePropertyName("records"u8);
            batch.WriteRecords(writer);
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static long Number(IQueryCollection query, string name, long max)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, name, $"{name} is required");
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value <= max
            ? value
            : throw new ShardsException(ShardsErrorKind.Invalid, name, $"{name} '{text}' is not a whole number up to {max}");
    }

    /// <summary>The run's status with how this silo served its batches (<c>serving</c>).</summary>
    private static JsonObject WithServing(RunStatus status, RunBatchReader reader, JsonSerializerOptions json)
    {
        var node = JsonSerializer.SerializeToNode(status, json)!.AsObject();
        // The contract shows an absent commit (and a live run's stepsPerEpoch) as null, not as a missing field.
        node["committed"] ??= null;
        node["stepsPerEpoch"] ??= null;
        if (!status.Live)
        {
            // The live run's fields (docs/runs.md, "Live runs") mean nothing for a static run.
            node.Remove("sealedSteps");
            node.Remove("firstKeptStep");
            node.Remove("partitions");
        }

        node["serving"] = JsonSerializer.SerializeToNode(reader.StatsOf(status.Job, status.Run), json);
        return node;
    }

    private static JsonSerializerOptions JsonOf(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

    private static Task<T> ReadBody<T>(HttpContext context)
        where T : class => JsonBodies.ReadAsync<T>(context);
}
