using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace OrleansShards.Silo.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;token&gt;</c> against <see cref="AuthTokenStore"/>. The streaming
/// routes (<see cref="StreamingRoutes"/>, exactly those) also take <c>?access_token=</c>, since a browser's
/// EventSource and WebSocket cannot send headers. Answers 401 and 403 as ProblemDetails.
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AuthTokenStore tokens, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The authentication scheme's name.</summary>
    public const string SchemeName = "Bearer";

    /// <summary>The query parameter of streaming routes that carries a token.</summary>
    public const string QueryParameter = "access_token";

    /// <summary>The GET routes (their templates) that take the token as <see cref="QueryParameter"/>; no other route does.</summary>
    public static IReadOnlySet<string> StreamingRoutes { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "/v1/status/stream",
        "/v1/topics/{topic}/partitions/{partition:int}/stream",
        "/v1/topics/{topic}/partitions/{partition:int}/ws",
    };

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!tokens.Enabled)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        string? token = null;
        var header = Request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return Task.FromResult(AuthenticateResult.Fail("the Authorization header is not 'Bearer <token>'"));
            }

            token = header["Bearer ".Length..].Trim();
        }
        else if (IsStreaming(Request) && Request.Query.TryGetValue(QueryParameter, out var fromQuery))
        {
            token = fromQuery.ToString();
        }

        if (string.IsNullOrEmpty(token))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (tokens.Find(token) is not { } holder)
        {
            return Task.FromResult(AuthenticateResult.Fail("the bearer token is not a token this server knows"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, holder.Name), new Claim(ClaimTypes.Role, holder.Role)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var failure = result.Failure?.Message;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = failure is null ? "Bearer realm=\"orleans-shards\"" : "Bearer realm=\"orleans-shards\", error=\"invalid_token\"";
        await WriteProblem(
            StatusCodes.Status401Unauthorized,
            "Unauthorized",
            failure ?? $"{Request.Method} {Request.Path} needs a token: send 'Authorization: Bearer <token>'" + (IsStreaming(Request) ? $" or ?{QueryParameter}=<token>" : ""));
    }

    /// <inheritdoc />
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var role = Context.User.FindFirstValue(ClaimTypes.Role) ?? "none";
        var rule = RouteRoleHandler.RuleOf(Context);
        var allowed = rule is null ? ShardsRoles.Admin : string.Join(", ", new[] { ShardsRoles.Admin }.Concat(rule.Roles));
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return WriteProblem(StatusCodes.Status403Forbidden, "Forbidden", $"role '{role}' may not use {Request.Method} {RouteRoleHandler.TemplateOf(Context)}; roles allowed: {allowed}");
    }

    private async Task WriteProblem(int status, string title, string detail) =>
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });

    private static bool IsStreaming(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && request.HttpContext.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } template }
        && StreamingRoutes.Contains(template);
}
