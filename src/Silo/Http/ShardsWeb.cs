using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using OrleansShards.Silo.Auth;
using Scalar.AspNetCore;

namespace OrleansShards.Silo.Http;

/// <summary>
/// What the silo adds around the API for the people who use it: bearer tokens with roles, the OpenAPI
/// document and its reference UI, and the status page with its live stream.
/// </summary>
public static class ShardsWeb
{
    /// <summary>Registers authentication, authorization and the OpenAPI document.</summary>
    public static WebApplicationBuilder AddShardsWeb(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var auth = builder.Configuration.GetSection(AuthSettings.Section).Get<AuthSettings>() ?? new AuthSettings();
        builder.Services.AddSingleton(services => new AuthTokenStore(auth, services.GetService<TimeProvider>() ?? TimeProvider.System));
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        builder.Services.AddSingleton<IAuthorizationHandler, RouteRoleHandler>();
        builder.Services.AddAuthorization(o =>
        {
            // Every request, routed or not, is decided by the rule table: no endpoint can forget its rule.
            var byRoute = new AuthorizationPolicyBuilder().AddRequirements(new RouteRoleRequirement()).Build();
            o.FallbackPolicy = byRoute;
            o.DefaultPolicy = byRoute;
        });
        if (auth.Enabled)
        {
            // The request log line holds the query string, and streaming routes may carry ?access_token=: tokens are never logged.
            builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        }

        builder.Services.AddSingleton(services => new StatusSnapshots(
            services.GetRequiredService<IGrainFactory>(),
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OrleansShards.Silo.Hosting.ShardsLimitsOptions>>().Value,
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions));
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "OrleansShards HTTP API",
                    Version = "v1",
                    Description = "Jobs, leases, reports, records, checkpoints, topics and status of an OrleansShards silo (docs/http-api.md). "
                        + "With authentication on, every route but /healthz, /readyz, the documents and the status page needs 'Authorization: Bearer <token>'; "
                        + "each operation's description names the roles that may use it.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerTokenHandler.SchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A token of the server's configuration (Shards:Auth:Tokens or Shards:Auth:TokensFile), with its role.",
                };
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var method = context.Description.HttpMethod ?? "GET";
                var rule = AuthRules.Find(method, "/" + (context.Description.RelativePath ?? ""));
                var roles = rule is { Open: true } ? "any caller, no token needed" : string.Join(", ", new[] { ShardsRoles.Admin }.Concat(rule?.Roles ?? []));
                operation.Description = (operation.Description is { Length: > 0 } d ? d + "\n\n" : "") + $"Roles: {roles}.";
                if (operation.RequestBody is not null)
                {
                    operation.Responses ??= [];
                    operation.Responses.TryAdd("413", new OpenApiResponse { Description = "The body is larger than its route family's limit (Shards:Limits, docs/limits.md): ProblemDetails naming the limit" });
                }

                if (rule is not { Open: true })
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerTokenHandler.SchemeName, context.Document)] = [] });
                    operation.Responses ??= [];
                    operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No valid bearer token (authentication on): ProblemDetails, WWW-Authenticate: Bearer" });
                    operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The token's role may not use this route: ProblemDetails naming the roles that may" });
                }

                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary>Documents a binary content type beside the JSON one of an answer (the Arrow IPC answer of the records route).</summary>
    public static Task AddBinaryAnswer(OpenApiOperation operation, string status, string contentType)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (operation.Responses?.TryGetValue(status, out var response) == true && response is OpenApiResponse answer)
        {
            answer.Content ??= new Dictionary<string, OpenApiMediaType>();
            answer.Content[contentType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
        }

        return Task.CompletedTask;
    }

    /// <summary>Adds authentication and authorization to the pipeline and maps the documents, the status page and its stream.</summary>
    public static WebApplication UseShardsWeb(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi();
        app.MapScalarApiReference(o => o.WithTitle("OrleansShards HTTP API"));
        app.MapShardsStatus();
        return app;
    }
}
