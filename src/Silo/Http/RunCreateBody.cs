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

/// <summary>Body of <c>POST /v1/jobs/{id}/runs</c>.</summary>
/// <param name="Run">The run's name.</param>
/// <param name="GlobalBatchSize">G.</param>
/// <param name="DropRemainder">Leave out the last partial step of an epoch (default true).</param>
public sealed record RunCreateBody(string? Run, int? GlobalBatchSize, bool? DropRemainder);
