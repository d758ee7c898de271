using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Silo.Http;

/// <summary>The answer of <c>GET /v1/jobs/{id}/runs</c> (for the OpenAPI document).</summary>
/// <param name="Runs">The runs' statuses.</param>
public sealed record RunListAnswer(IReadOnlyList<RunStatus> Runs);
