using System.Text.Json;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;

namespace OrleansShards.Silo.Http;

/// <summary>The batches of live runs (docs/runs.md, "Live runs").</summary>
public static partial class RunEndpoints
{
    /// <summary>
    /// Serves rank <paramref name="rank"/>'s slice of live step <paramref name="step"/>: sealed (durably, by the run
    /// grain) before it is first served; a step not full after <paramref name="wait"/> answers
    /// <c>200 {"records": [], "retryAfterMs"}</c>.
    /// </summary>
    private static async Task LiveBatch(
        HttpContext context, IRunGrain run, string jobId, string runName, int globalBatchSize, long epoch, long step, long rank, long worldSize,
        TimeSpan wait, IReadOnlyList<string>? columns, string format)
    {
        // A live run has one epoch and unbounded steps: the step is checked by the grain (sealed, kept, not too far ahead).
        if (new RunSteps(long.MaxValue, globalBatchSize, DropRemainder: true).Validate(1, epoch, Math.Max(0, step), (int)rank, (int)worldSize) is { } problem)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, problem.Field == "epoch" ? $"epoch {epoch} must be 0: a live run has one epoch" : problem.Reason);
        }

        var reader = context.RequestServices.GetRequiredService<LiveRunBatchReader>();
        var sealedStep = await reader.SealAsync(run, step, wait, context.RequestAborted);
        if (sealedStep is null)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
            {
                writer.WriteStartObject();
                writer.WriteNumber("epoch"u8, epoch);
                writer.WriteNumber("step"u8, step);
                writer.WriteNumber("rank"u8, rank);
                writer.WriteNumber("worldSize"u8, worldSize);
                writer.WriteStartArray("records"u8);
                writer.WriteEndArray();
                writer.WriteNumber("retryAfterMs"u8, reader.RetryAfterMs);
                writer.WriteEndObject();
            }

            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
            return;
        }

        var batch = await reader.ReadAsync(jobId, runName, sealedStep, step, (int)rank, (int)worldSize, columns, context.RequestAborted);
        await WriteBatch(context, batch, epoch, step, rank, worldSize, format);
    }
}
