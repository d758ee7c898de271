using OrleansShards.GrainInterfaces;
using OrleansShards.Silo.Auth;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The status page at <c>/</c> (plain HTML, CSS and JavaScript embedded in the silo, no build step) and the
/// routes it reads: a snapshot of every job, a stream of snapshots over Server-Sent Events, a job's leases.
/// </summary>
public static class StatusEndpoints
{
    /// <summary>The default time between two snapshots of the stream.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(500);

    private const string FollowerRetryAfterSeconds = "5";

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

        var status = app.MapGroup("/v1").WithTags("Status").AddEndpointFilter(ApiProblems.Filter).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        status.MapGet("/status", async (StatusSnapshots snapshots) => Results.Bytes((await snapshots.GetAsync()).Json, "application/json"))
            .WithSummary("Every job's status and leases now")
            .WithDescription("One snapshot: each job's status (as GET /v1/jobs/{id}) and its leases in flight, at most Shards:Limits:StatusLeasesPerJob leases "
                + "and StatusDeadLettersPerJob dead letters per job (leasesNotListed and deadLettersNotListed count the rest).")
            .Produces<StatusSnapshot>();
        status.MapGet("/status/stream", Stream)
            .WithSummary("Every job's status and leases, pushed as they change")
            .WithDescription("Server-Sent Events (text/event-stream), one 'status' event a snapshot (the body of GET /v1/status) every intervalMs (default 500, at least 100). "
                + "A browser's EventSource cannot send headers: with authentication on, pass the token as ?access_token=<token>. "
                + "Past Shards:Limits:MaxStatusFollowers followers on this silo, 503 with Retry-After.")
            .Produces<StatusSnapshot>(contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        status.MapGet("/jobs/{id}/leases", async (string id, HttpContext context, IGrainFactory grains) =>
            {
                var leases = await Leases(grains, id);
                // A lease id is what a report proves its holder with: a worker token (which any worker of any job may hold)
                // sees who holds what, never the ids; admins and readers see them (docs/http-api.md).
                var shown = context.User.IsInRole(ShardsRoles.Worker) ? [.. leases.Select(l => l with { LeaseId = "" })] : leases;
                return Results.Ok(new JobLeases(id, shown));
            })
            .WithTags("Leases")
            .WithSummary("The leases in flight of a job")
            .WithDescription("Each lease with its task, worker, attempt and expiry; empty while the job is still describing its source. A worker token sees every leaseId as \"\": only admins and readers see lease ids.")
            .Produces<JobLeases>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> Stream(HttpContext context, StatusSnapshots snapshots, TimeProvider? time, int? intervalMs = null)
    {
        if (intervalMs is < 100)
        {
            return ApiProblems.Problem(StatusCodes.Status400BadRequest, $"intervalMs must be at least 100, not {intervalMs}", "intervalMs");
        }

        using var follower = snapshots.TryFollow();
        if (follower is null)
        {
            context.Response.Headers.RetryAfter = FollowerRetryAfterSeconds;
            return ApiProblems.Problem(
                StatusCodes.Status503ServiceUnavailable,
                $"the status stream of this silo has {snapshots.Followers} followers, the most it serves (Shards:Limits:MaxStatusFollowers); retry later, or poll GET /v1/status",
                null);
        }

        var interval = intervalMs is { } ms ? TimeSpan.FromMilliseconds(ms) : DefaultInterval;
        var cancellationToken = context.RequestAborted;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        using var timer = new PeriodicTimer(interval, time ?? TimeProvider.System);
        try
        {
            do
            {
                // Every follower writes the same frame: the snapshot is serialized once per tick, not once per follower.
                var snapshot = await snapshots.GetAsync().WaitAsync(cancellationToken);
                await context.Response.Body.WriteAsync(snapshot.EventFrame, cancellationToken);
                await context.Response.Body.FlushAsync(cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && cancellationToken.IsCancellationRequested)
        {
            // The page went away.
        }

        return Results.Empty;
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
