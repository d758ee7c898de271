using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace OrleansShards.Silo.Auth;

/// <summary>Decides <see cref="RouteRoleRequirement"/> from the route's rule and the caller's role.</summary>
public sealed class RouteRoleHandler(AuthTokenStore tokens) : AuthorizationHandler<RouteRoleRequirement>
{
    /// <inheritdoc />
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RouteRoleRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!tokens.Enabled)
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }

        if (context.Resource is not HttpContext http)
        {
            return Task.CompletedTask;
        }

        var rule = RuleOf(http);
        if (rule is { Open: true })
        {
            context.Succeed(requirement);
        }
        else if (context.User.Identity?.IsAuthenticated == true && context.User.FindFirstValue(ClaimTypes.Role) is { } role && AuthRules.Allows(rule, role))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    /// <summary>The route template of the request's endpoint, or its path when no endpoint matched.</summary>
    public static string TemplateOf(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } template } ? "/" + template.Trim('/') : http.Request.Path.Value ?? "/";
    }

    /// <summary>The rule of the request.</summary>
    public static AuthRules.Rule? RuleOf(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return AuthRules.Find(http.Request.Method, TemplateOf(http));
    }
}
