using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace OrleansShards.Silo.Auth;

/// <summary>The requirement of every route: the caller's role may use it under <see cref="AuthRules"/>.</summary>
public sealed class RouteRoleRequirement : IAuthorizationRequirement;
