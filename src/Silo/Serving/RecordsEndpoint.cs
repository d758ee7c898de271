using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Silo.Serving;

/// <summary>
/// <c>GET /v1/jobs/{id}/tasks/{taskId}/records</c> (docs/http-api.md): the plan from <see cref="ReadPlanCache"/>, the page
/// from <see cref="TaskRecordReader"/>, and here the whole answer: its format, its headers and its envelope.
/// </summary>
public static class RecordsEndpoint
{
    /// <summary>The header of an Arrow answer that holds the offset of the next page, when records of the shard remain.</summary>
    public const string NextOffsetHeader = "X-Next-Offset";

    /// <summary>Answers one page of a task's records as JSON (the default) or as an Arrow IPC stream (<c>format=arrow</c>).</summary>
    /// <exception cref="ShardsException">A format that is not served, or what the plan and the reader refuse (mapped to ProblemDetails by the route's filter).</exception>
    public static async Task<IResult> Read(
        string id, string taskId, HttpContext context, ReadPlanCache plans, TaskRecordReader reader, IOptions<ShardsOptions> options,
        string? columns = null, long? offset = null, int? limit = null, string? format = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(plans);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        if (format is not (null or "json" or "arrow"))
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "format", $"format '{format}' is not served; use 'json' or 'arrow'");
        }

        var plan = await plans.GetAsync(id, taskId);
        var projection = string.IsNullOrWhiteSpace(columns) ? null : columns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        using var page = await reader.ReadAsync(plan, taskId, offset ?? 0, limit, projection, context.RequestAborted);
        if (format == "arrow")
        {
            await WriteArrowAsync(context.Response, page, options.Value.Reads, context.RequestAborted);
        }
        else
        {
            await WriteJsonAsync(context.Response, page, context.RequestAborted);
        }

        return Results.Empty;
    }

    /// <summary>Writes <c>{"records": [...], "nextOffset": n}</c>, <c>nextOffset</c> only when records of the shard remain.</summary>
    private static async Task WriteJsonAsync(HttpResponse response, RecordPage page, CancellationToken cancellationToken)
    {
        response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("records"u8);
            page.WriteRecords(writer);
            if (page.NextOffset is { } next)
            {
                writer.WriteNumber("nextOffset"u8, next);
            }

            writer.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Writes an Arrow IPC stream of one record batch (the schema, the page's records in page order, the end of the
    /// stream). The body is no JSON, so the next offset is the <see cref="NextOffsetHeader"/> header and the schema
    /// metadata <see cref="ArrowRecords.NextOffsetKey"/> (decimal text), both only when records of the shard remain.
    /// </summary>
    private static async Task WriteArrowAsync(HttpResponse response, RecordPage page, OrleansShards.Readers.ReadLimits limits, CancellationToken cancellationToken)
    {
        using var arrow = Build(page.ToArrow, limits);
        response.ContentType = ArrowRecords.MediaType;
        KeyValuePair<string, string>[] metadata = [];
        if (page.NextOffset is { } next)
        {
            var text = next.ToString(CultureInfo.InvariantCulture);
            response.Headers[NextOffsetHeader] = text;
            metadata = [new(ArrowRecords.NextOffsetKey, text)];
        }

        await ArrowRecords.WriteStreamAsync(response.Body, arrow, metadata, cancellationToken);
    }

    /// <summary>Builds an Arrow answer within <paramref name="limits"/>; one past them is bad input that names the bound (400, <c>columns</c>).</summary>
    /// <exception cref="ShardsException">The answer would have too many columns or bytes.</exception>
    private static T Build<T>(Func<T> build, OrleansShards.Readers.ReadLimits limits)
    {
        using var bound = ArrowRecords.Bound(limits);
        try
        {
            return build();
        }
        catch (ArrowAnswerTooLargeException e)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "columns", e.Message);
        }
    }
}
