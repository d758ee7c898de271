using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Features;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The one mapping of every exception a route can raise onto an RFC 9457 ProblemDetails with <c>field</c>: used by
/// the route groups' filter and, for what is thrown outside an endpoint's own code (parameter binding, a body past
/// its limit read by a binder), by the exception handler. An exception it does not know stays a 500: a server bug.
/// </summary>
internal static partial class ApiProblems
{
    /// <summary>The item of <see cref="HttpContext.Items"/> naming the setting of the request's body limit.</summary>
    public const string BodyLimitKey = "shards.bodyLimitKey";

    /// <summary>The endpoint filter of the route groups.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (Map(e, context.HttpContext) is { } problem)
        {
            return problem;
        }
    }

    /// <summary>The ProblemDetails answer to <paramref name="exception"/>, or <see langword="null"/> for one that is a server bug.</summary>
    public static IResult? Map(Exception exception, HttpContext context) => exception switch
    {
        ShardsException e => Problem(ErrorStatus.Of(e.Kind), e.Message, e.Field),
        LogTruncatedException e => Results.Problem(
            statusCode: StatusCodes.Status410Gone,
            detail: e.Message,
            extensions: new Dictionary<string, object?> { ["field"] = "from", ["firstRetained"] = e.FirstRetained }),
        // A live job whose topic was deleted reads a log that is no longer there: the topic is what is missing.
        LogStoreException e => Problem(ErrorStatus.Of(e.Kind), e.Message, "topic"),
        SourceChangedException e => Problem(StatusCodes.Status409Conflict, e.Message, "taskId"),
        MalformedRecordException e => Problem(StatusCodes.Status422UnprocessableEntity, e.Message, "taskId"),
        CheckpointException e => Problem(StatusCodes.Status400BadRequest, e.Message, e.Field),
        SourceSpecException e => Problem(StatusCodes.Status400BadRequest, e.Message, e.Field),
        PathOutsideRootsException e => Problem(StatusCodes.Status400BadRequest, e.Message, "source.paths"),
        BadHttpRequestException e => BadRequest(e, context),
        JsonException e => Problem(StatusCodes.Status400BadRequest, $"the body is not valid JSON for this request at '{e.Path ?? "$"}': {FirstSentence(e.Message)}", "body"),
        _ when IsTransient(exception) => Transient(exception, context),
        _ => null,
    };

    /// <summary>A ProblemDetails answer naming <paramref name="field"/>.</summary>
    public static IResult Problem(int status, string detail, string? field) =>
        Results.Problem(
            statusCode: status,
            detail: detail,
            extensions: field is null ? null : new Dictionary<string, object?> { ["field"] = field });

    /// <summary>
    /// A 404 for a path no route serves (e.g. <c>GET /jobs</c>), pointing at the API's prefix and its document; other
    /// empty error answers keep the defaults.
    /// </summary>
    public static void DescribeUnrouted(ProblemDetailsContext context)
    {
        if (context.ProblemDetails.Status == StatusCodes.Status404NotFound && context.ProblemDetails.Detail is null && context.HttpContext.GetEndpoint() is null)
        {
            var request = context.HttpContext.Request;
            context.ProblemDetails.Detail = $"no route serves {request.Method} {request.Path}: the API's routes are under /v1 (e.g. /v1/jobs), described by /openapi/v1.json";
            context.ProblemDetails.Extensions["field"] = "path";
        }
    }

    private static IResult BadRequest(BadHttpRequestException e, HttpContext context)
    {
        if (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            var key = context.Items[BodyLimitKey] as string ?? "Kestrel:Limits:MaxRequestBodySize";
            return Problem(
                StatusCodes.Status413PayloadTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"the request body is larger than {limit} bytes, the most {context.Request.Method} {context.Request.Path} accepts ({key})"),
                "body");
        }

        // Minimal APIs name the parameter: 'Failed to bind parameter "int? limit" from "abc".'
        var field = BoundParameter().Match(e.Message) is { Success: true } m ? m.Groups["name"].Value : "request";
        return Problem(e.StatusCode is >= 400 and < 500 ? e.StatusCode : StatusCodes.Status400BadRequest, $"{field}: {e.Message}", field);
    }

    private static IResult Transient(Exception e, HttpContext context)
    {
        // A silo died or the job's storage refused a write: the job comes back on its own in about a second
        // (membership) and reloads its state, so tell the caller to retry rather than reporting a server bug.
        context.Response.Headers.RetryAfter = "1";
        return Problem(StatusCodes.Status503ServiceUnavailable, $"the cluster is recovering ({e.GetType().Name}: {e.Message}); retry the same request", null);
    }

    private static bool IsTransient(Exception e) =>
        e is OrleansException or TimeoutException or OrleansShards.Providers.GrainStorageException or Orleans.Persistence.Redis.RedisStorageException or System.Data.Common.DbException { IsTransient: true }
        || (e.InnerException is { } inner && IsTransient(inner));

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }

    [GeneratedRegex("parameter \"(?:[^\"]*\\s)?(?<name>[A-Za-z_][A-Za-z0-9_]*)\"", RegexOptions.CultureInvariant)]
    private static partial Regex BoundParameter();
}
