using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The mixture routes of issue 15 (docs/mixtures.md): a run's journal of re-weightings, and the job-level route for
/// leases (not served yet: mixtures are served through runs).
/// </summary>
public static class MixtureEndpoints
{
    /// <summary>Maps the mixture routes onto the <c>/v1/jobs</c> group (whose filter turns errors into ProblemDetails).</summary>
    public static RouteGroupBuilder MapMixtures(this RouteGroupBuilder jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        jobs.MapGet("/{id}/runs/{run}/mixture", (string id, string run, IGrainFactory grains) => Mixture(grains, id, run).GetMixture())
            .WithTags("Runs").WithSummary("A run's mixture").WithDescription("The run's journal of re-weightings, its highest served step, the earliest step a re-weighting may start at, and each source's weight, draws, pass and position at the run's resume step. 400 when the job is not a mixture.")
            .Produces<RunMixtureStatus>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapPost("/{id}/runs/{run}/mixture", Reweight).WithTags("Runs")
            .WithSummary("Re-weight a run's mixture from a step on").WithDescription("Body {weights: {name: w, ...}, fromStep, fromEpoch?}. Journaled durably before the answer (200 with the run's mixture); steps before it are unchanged, steps from it on use the new weights. 409 at or before the highest served step; 400 for an unknown source or a weight that is not a positive number.")
            .Accepts<RunMixtureBody>("application/json").Produces<RunMixtureStatus>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/mixture", ReweightLeases).WithTags("Jobs")
            .WithSummary("Re-weight a mixture's leases from an epoch on").WithDescription("Body {weights, fromEpoch}. Not served in this version: mixtures are served through runs, so this is 400 (field sources) for a mixture job and 400 for any other job; 404 for an unknown job.")
            .Accepts<JobMixtureBody>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return jobs;
    }

    private static IRunMixtureGrain Mixture(IGrainFactory grains, string jobId, string run)
    {
        if (string.IsNullOrEmpty(run) || run.Length > 128 || run.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "run", "run must be 1 to 128 characters of letters, digits, '-', '_' or '.'");
        }

        return grains.GetGrain<IRunMixtureGrain>(IRunGrain.KeyOf(jobId, run));
    }

    private static async Task<RunMixtureStatus> Reweight(string id, string run, HttpContext context, IGrainFactory grains)
    {
        var body = await ReadBody<RunMixtureBody>(context);
        if (body.Weights is not { Count: > 0 } weights)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "weights", "weights is required: {\"name\": weight, ...} naming at least one source");
        }

        var fromStep = body.FromStep ?? throw new ShardsException(ShardsErrorKind.Invalid, "fromStep", "fromStep is required: the first step drawn with the new weights");
        return await Mixture(grains, id, run).Reweight(weights, body.FromEpoch ?? 0, fromStep);
    }

    private static async Task<IResult> ReweightLeases(string id, HttpContext context, IGrainFactory grains)
    {
        var status = await grains.GetGrain<IJobGrain>(id).GetStatus();
        await ReadBody<JobMixtureBody>(context);
        throw status.Spec.IsMixture
            ? new ShardsException(ShardsErrorKind.Invalid, "sources", $"job '{id}' is a mixture, and mixtures are served through runs in this version: leases over mixtures (and their re-weighting) are not served yet; re-weight a run with POST /v1/jobs/{id}/runs/{{run}}/mixture")
            : new ShardsException(ShardsErrorKind.Invalid, "sources", $"job '{id}' reads one source, not a mixture: it has no weights to change");
    }

    private static Task<T> ReadBody<T>(HttpContext context)
        where T : class => JsonBodies.ReadAsync<T>(context);
}
