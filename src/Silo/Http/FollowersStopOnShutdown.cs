namespace OrleansShards.Silo.Http;

/// <summary>
/// Ends the long-lived followers (Server-Sent Events and WebSocket streams) as soon as the server starts to stop, so a
/// graceful shutdown does not wait its whole timeout for connections that never end on their own. A follower that is
/// cut resumes from its last offset (SSE's <c>Last-Event-ID</c>, a WebSocket's <c>from</c>) on another silo. Other
/// requests finish as usual.
/// </summary>
internal static class FollowersStopOnShutdown
{
    /// <summary>Whether a request is a follower: the status stream, a topic partition's SSE stream or WebSocket.</summary>
    public static bool IsFollower(PathString path) =>
        path.StartsWithSegments("/v1", out var rest)
        && (rest.Value is "/status/stream" || (rest.StartsWithSegments("/topics") && (rest.Value!.EndsWith("/stream", StringComparison.Ordinal) || rest.Value.EndsWith("/ws", StringComparison.Ordinal))));

    public static IApplicationBuilder UseFollowersStopOnShutdown(this IApplicationBuilder app)
    {
        var stopping = app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        return app.Use(async (context, next) =>
        {
            if (!IsFollower(context.Request.Path))
            {
                await next(context);
                return;
            }

            using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            context.RequestAborted = ended.Token;
            await next(context);
        });
    }
}
