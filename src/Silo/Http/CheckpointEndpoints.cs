using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>The checkpoint routes of docs/http-api.md: <c>GET /v1/jobs/{id}/checkpoint</c> and <c>POST /v1/jobs/import</c>.</summary>
public static class CheckpointEndpoints
{
    /// <summary>Maps the checkpoint routes onto the <c>/v1/jobs</c> group (whose filter turns errors into ProblemDetails).</summary>
    public static RouteGroupBuilder MapCheckpoints(this RouteGroupBuilder jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        jobs.MapGet("/{id}/checkpoint", Export)
            .WithSummary("Export a job's checkpoint").WithDescription("Todo, doing, a done summary and every splitter's offsets; never a secret. 409 while the job is still describing its source.")
            .Produces<CheckpointDocument>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/import", Import)
            .WithSummary("Create a job from a checkpoint").WithDescription("201 with the job's status; the leases that were in flight are re-queued. ?id= names the job when the document should not. 409 if the job exists; 400 names the place where the document is wrong or does not match its source.")
            .Accepts<CheckpointDocument>("application/json").Produces<JobStatus>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        return jobs;
    }

    private static async Task<CheckpointDocument> Export(string id, IGrainFactory grains)
    {
        var document = await grains.GetGrain<IJobGrain>(id).ExportCheckpoint();

        // The job's training runs ride along (docs/runs.md); a job without runs exports the document it always did.
        var names = await grains.GetGrain<IJobRunsGrain>(id).List();
        var runs = (await Task.WhenAll(names.Select(name => grains.GetGrain<IRunGrain>(IRunGrain.KeyOf(id, name)).Export())))
            .OfType<CheckpointRun>().ToList();
        return runs.Count == 0 ? document : document with { Runs = runs };
    }

    private static async Task<IResult> Import(HttpContext context, IGrainFactory grains, OrleansShards.Silo.Serving.ReadPlanCache plans, string? id = null)
    {
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        JsonElement root;
        try
        {
            using var parsed = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            root = parsed.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "body", $"the body is not valid JSON (line {e.LineNumber + 1}): a checkpoint document is required");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "body", $"the body is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not a checkpoint document (an object)");
        }

        // Format and version first: a document of another version may hold fields this one does not know.
        try
        {
            Checkpoints.CheckHeader(HeaderText(root, "format"), HeaderNumber(root, "version"));
        }
        catch (CheckpointException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, e.Field, e.Message);
        }

        CheckpointDocument document;
        try
        {
            document = root.Deserialize<CheckpointDocument>(json)!;
        }
        catch (JsonException e)
        {
            var place = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            var end = e.Message.IndexOf(". Path:", StringComparison.Ordinal);
            throw new ShardsException(ShardsErrorKind.Invalid, place, $"the checkpoint document is not valid at '{e.Path ?? "$"}': {(end > 0 ? e.Message[..end] : e.Message)}");
        }

        var jobId = string.IsNullOrWhiteSpace(id) ? document.JobId : id;
        if (string.IsNullOrWhiteSpace(jobId))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "jobId", "jobId is required: the document names no job and the request gives no ?id=");
        }

        // Runs are checked before the job is created, so a document with a bad run creates nothing.
        var runs = document.Runs ?? [];
        for (var i = 0; i < runs.Count; i++)
        {
            var name = runs[i].Run;
            if (string.IsNullOrEmpty(name) || name.Length > 128 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) || runs.Take(i).Any(r => r.Run == name))
            {
                throw new ShardsException(ShardsErrorKind.Invalid, $"runs[{i}].run", $"runs[{i}].run must be a distinct name of 1 to 128 letters, digits, '-', '_' or '.'");
            }

            if (new RunSpec(runs[i].GlobalBatchSize, runs[i].DropRemainder).Validate() is { } problem)
            {
                throw new ShardsException(ShardsErrorKind.Invalid, $"runs[{i}].{problem.Field}", $"runs[{i}].{problem.Field} {problem.Reason}");
            }
        }

        var result = await grains.GetGrain<IJobGrain>(jobId).ImportCheckpoint(document);
        plans.Forget(jobId);
        foreach (var run in runs)
        {
            await grains.GetGrain<IRunGrain>(IRunGrain.KeyOf(jobId, run.Run!)).Import(run);
        }

        return Results.Created($"/v1/jobs/{Uri.EscapeDataString(jobId)}", result.Status);
    }

    private static string? HeaderText(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new ShardsException(ShardsErrorKind.Invalid, name, $"{name} must be a string, not a JSON {value.ValueKind.ToString().ToLowerInvariant()}");

    private static int? HeaderNumber(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number
        : throw new ShardsException(ShardsErrorKind.Invalid, name, $"{name} must be a whole number, not {value.GetRawText()}");
}
