using System.Runtime.CompilerServices;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The status page at <c>/</c> (plain HTML, CSS and JavaScript embedded in the silo, no build step) and the
/// routes it reads: a snapshot of every job, a stream of snapshots over Server-Sent Events, a job's leases.
/// </summary>
public static class StatusEndpoints
{
    /// <summary>The default time between two snapshots of the stream.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(500);

    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["status.js"] = "text/javascript; charset=utf-8",
        ["status.css"] = "text/css; charset=utf-8",
    };

    /// <summary>Maps the page, its assets and the status routes.</summary>
    public static IEndpointRouteBuilder MapShardsStatus(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/", () => Asset("index.html")).ExcludeFromDescription();
        app.MapGet("/status/{file}", (string file) => Asset(file)).ExcludeFromDescription();

        var status = app.MapGroup("/v1").WithTags("Status").AddEndpointFilter(Transient).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        status.MapGet("/status", (StatusSnapshots snapshots) => snapshots.GetAsync())
            .WithSummary("Every job's status and leases now")
            .WithDescription("One snapshot: each job's status (as GET /v1/jobs/{id}) and its leases in flight.")
            .Produces<StatusSnapshot>();
        status.MapGet("/status/stream", Stream)
            .WithSummary("Every job's status and leases, pushed as they change")
            .WithDescription("Server-Sent Events (text/event-stream), one 'status' event a snapshot (the body of GET /v1/status) every intervalMs (default 500, at least 100). "
                + "A browser's EventSource cannot send headers: with authentication on, pass the token as ?access_token=<token>.")
            .Produces<StatusSnapshot>(contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        status.MapGet("/jobs/{id}/leases", async (string id, IGrainFactory grains) =>
            {
                try
                {
                    return Results.Ok(new JobLeases(id, await Leases(grains, id)));
                }
                catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
                {
                    return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: e.Message, extensions: new Dictionary<string, object?> { ["field"] = e.Field });
                }
            })
            .WithSummary("The leases in flight of a job")
            .WithDescription("Each lease with its task, worker, attempt and expiry; empty while the job is still describing its source.")
            .Produces<JobLeases>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async ValueTask<object?> Transient(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // A silo died or is joining: the grains come back on their own, so the page (or caller) retries.
            context.HttpContext.Response.Headers.RetryAfter = "1";
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: $"the cluster is recovering ({e.GetType().Name}: {e.Message}); retry the same request");
        }
    }

    private static IResult Stream(StatusSnapshots snapshots, TimeProvider? time, CancellationToken cancellationToken, int? intervalMs = null)
    {
        if (intervalMs is < 100)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: $"intervalMs must be at least 100, not {intervalMs}", extensions: new Dictionary<string, object?> { ["field"] = "intervalMs" });
        }

        var interval = intervalMs is { } ms ? TimeSpan.FromMilliseconds(ms) : DefaultInterval;
        return TypedResults.ServerSentEvents(Snapshots(snapshots, time ?? TimeProvider.System, interval, cancellationToken), "status");
    }

    private static async IAsyncEnumerable<StatusSnapshot> Snapshots(StatusSnapshots snapshots, TimeProvider time, TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            yield return await snapshots.GetAsync().WaitAsync(cancellationToken);
        }
        while (await NextTick(timer, cancellationToken));
    }

    private static async Task<bool> NextTick(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false; // The page went away.
        }
    }

    /// <summary>The leases in flight of job <paramref name="id"/>, by worker then task; empty while it describes its source.</summary>
    internal static async Task<IReadOnlyList<LeaseView>> Leases(IGrainFactory grains, string id)
    {
        // O(in flight): no splitter is asked, unlike a checkpoint export.
        var leases = await grains.GetGrain<IJobGrain>(id).GetLeases();
        return leases
            .Select(l => new LeaseView(l.TaskId ?? "", l.LeaseId ?? "", l.WorkerId ?? "", l.Attempt, l.ExpiresAt))
            .OrderBy(l => l.WorkerId, StringComparer.Ordinal).ThenBy(l => l.TaskId, StringComparer.Ordinal)
            .ToList();
    }

    private static IResult Asset(string file)
    {
        if (!Assets.TryGetValue(file, out var contentType))
        {
            return Results.NotFound();
        }

        var stream = typeof(StatusEndpoints).Assembly.GetManifestResourceStream("StatusPage/" + file)
            ?? throw new InvalidOperationException($"the status page asset '{file}' is not embedded in {typeof(StatusEndpoints).Assembly.GetName().Name}");
        return Results.Stream(stream, contentType);
    }
}
