using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orleans.Dashboard;
using OrleansShards.Grains;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Metrics for Prometheus (the OrleansShards meter of <see cref="ShardsMetrics"/> and Orleans' own
/// meter) and the Orleans Dashboard, each switched by configuration.
/// </summary>
public static class Observability
{
    /// <summary>The service name of the exported metrics (<c>service_name</c> of Prometheus' <c>target_info</c>).</summary>
    public const string ServiceName = "orleans-shards";

    /// <summary>Orleans' meter: activations, messaging, membership, storage of every provider.</summary>
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>Registers the metrics pipeline and, when enabled, the dashboard's silo services.</summary>
    public static WebApplicationBuilder AddShardsObservability(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var settings = ObservabilitySettings.From(builder.Configuration);
        if (settings.Metrics.Enabled)
        {
            builder.Services.AddOpenTelemetry()
                // The instance is the pod (Kubernetes sets the host name to the pod name), so series of two silos stay apart.
                .ConfigureResource(resource => resource.AddService(ServiceName, serviceInstanceId: Environment.MachineName))
                .WithMetrics(metrics => metrics
                    .AddMeter(ShardsMetrics.MeterName, OrleansMeterName)
                    .AddPrometheusExporter());
            // The exporter's endpoint is not a route handler, so the OpenAPI document learns of it here.
            var path = settings.Metrics.Path;
            builder.Services.Configure<Microsoft.AspNetCore.OpenApi.OpenApiOptions>("v1", o => o.AddDocumentTransformer((document, _, _) =>
            {
                document.Paths ??= new Microsoft.OpenApi.OpenApiPaths();
                document.Paths[path] = new Microsoft.OpenApi.OpenApiPathItem
                {
                    Operations = new Dictionary<HttpMethod, Microsoft.OpenApi.OpenApiOperation>
                    {
                        [HttpMethod.Get] = new Microsoft.OpenApi.OpenApiOperation
                        {
                            Summary = "Prometheus metrics",
                            Tags = new HashSet<Microsoft.OpenApi.OpenApiTagReference> { new("Operations", document) },
                            Description = "Leases, reports and records per job, leases in flight, lag per live partition, state write latency, and Orleans' own meters, in the Prometheus text format.",
                            Responses = new Microsoft.OpenApi.OpenApiResponses
                            {
                                ["200"] = new Microsoft.OpenApi.OpenApiResponse
                                {
                                    Description = "The Prometheus text exposition format",
                                    Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType> { ["text/plain"] = new() },
                                },
                            },
                        },
                    },
                };
                return Task.CompletedTask;
            }));
        }

        if (settings.Dashboard.Enabled)
        {
            builder.UseOrleans(silo => silo.AddDashboard());
        }

        return builder;
    }

    /// <summary>Maps the scrape endpoint and the dashboard, those that are enabled.</summary>
    public static WebApplication MapShardsObservability(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var settings = ObservabilitySettings.From(app.Configuration);
        if (settings.Metrics.Enabled)
        {
            app.MapPrometheusScrapingEndpoint(settings.Metrics.Path);
        }

        if (settings.Dashboard.Enabled)
        {
            app.MapOrleansDashboard(settings.Dashboard.Path.TrimEnd('/'));
        }

        return app;
    }
}
