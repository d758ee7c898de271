using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The request body limit of each route family (<see cref="ShardsLimitsOptions"/>): appends may hold up to 64 MiB,
/// a checkpoint import its own limit, every other body (jobs, leases, reports, runs, topics) much less. Set per
/// request before anything reads the body, so Kestrel stops reading past it and the answer is a 413 naming the limit.
/// </summary>
internal static class RequestBodyLimits
{
    /// <summary>Adds the middleware that sets each request's body limit.</summary>
    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app)
    {
        var limits = app.ApplicationServices.GetRequiredService<IOptions<ShardsLimitsOptions>>().Value;
        return app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                var (bytes, key) = Of(context.Request, limits);
                feature.MaxRequestBodySize = bytes;
                context.Items[ApiProblems.BodyLimitKey] = ShardsLimitsOptions.Section + ":" + key;
            }

            return next(context);
        });
    }

    /// <summary>The body limit of a request and the name of its setting.</summary>
    internal static (long Bytes, string Key) Of(HttpRequest request, ShardsLimitsOptions limits)
    {
        var path = request.Path.Value ?? "";
        if (HttpMethods.IsPost(request.Method) && path.StartsWith("/v1/topics/", StringComparison.Ordinal) && path.EndsWith("/records", StringComparison.Ordinal))
        {
            return (limits.MaxAppendBodyBytes, nameof(ShardsLimitsOptions.MaxAppendBodyBytes));
        }

        if (path.Equals("/v1/jobs/import", StringComparison.Ordinal))
        {
            return (limits.MaxImportBodyBytes, nameof(ShardsLimitsOptions.MaxImportBodyBytes));
        }

        return (limits.MaxBodyBytes, nameof(ShardsLimitsOptions.MaxBodyBytes));
    }
}
