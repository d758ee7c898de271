using Microsoft.AspNetCore.Authorization;

namespace OrleansShards.Silo.Auth;

/// <summary>The requirement of every route: the caller's role may use it under <see cref="AuthRules"/>.</summary>
public sealed class RouteRoleRequirement : IAuthorizationRequirement;
