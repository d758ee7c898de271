// A TorchSharp trainer fed by an OrleansShards run through the .NET client (ShardsClient.ReadRunAsync).
//
// W ranks read their batches of every step with one ReadRunAsync each: exactly G/W records, the positions
// [s·G + r·G/W, s·G + (r+1)·G/W) of the epoch's global order. TorchSharp has no process group, so the ranks are
// data-parallel replicas in this one process: the step's loss is the mean of the ranks' losses, whose gradient is the
// average of the ranks' gradients (what DDP's all-reduce computes). After the checkpoint that holds a step is durable
// the trainer commits it; on start it loads the last commit's checkpoint and reads from the run's resumeAt.
//
//   dotnet run -c Release --project examples/TorchSharpTrainer -- --server http://127.0.0.1:5080 --job JOB --run RUN \
//       [--world-size 2] [--global-batch-size 24] [--checkpoint-dir ckpt] [--checkpoint-every 4] [--max-steps N]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OrleansShards.Client;
using TorchSharp;
using static TorchSharp.torch;

var options = Arguments.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: TorchSharpTrainer --server URL --job JOB --run RUN [--world-size W] [--global-batch-size G] [--checkpoint-dir DIR] [--checkpoint-every N] [--max-steps N] [--features x1,x2] [--label y] [--lr 0.05]");
    return 2;
}

using var http = new HttpClient { BaseAddress = new Uri(options.Server.EndsWith('/') ? options.Server : options.Server + "/") };
var client = new ShardsClient(http);
try
{
    if (options.GlobalBatchSize is { } g)
    {
        await client.CreateRunAsync(options.Job, new RunCreateRequest(options.Run, g));
    }

    var status = await client.GetRunAsync(options.Job, options.Run);
    if (status.Finished)
    {
        Console.Error.WriteLine($"run {options.Run} of job {options.Job} is finished");
        return 0;
    }

    if (status.GlobalBatchSize % options.WorldSize != 0)
    {
        Console.Error.WriteLine($"error: world size {options.WorldSize} does not divide the run's global batch size {status.GlobalBatchSize}");
        return 1;
    }

    torch.manual_seed(options.Seed);
    using var model = nn.Linear(options.Features.Length, 1);
    if (status.Committed?.Checkpoint is { } restored)
    {
        model.load(Path.Combine(options.CheckpointDir, restored));
    }

    // Plain SGD keeps no state of its own: the model's parameters are the whole checkpoint.
    using var optimizer = optim.SGD(model.parameters(), options.LearningRate);
    Console.Error.WriteLine($"run {options.Run}: {options.WorldSize} ranks resume at epoch {status.ResumeAt.Epoch} step {status.ResumeAt.Step}"
        + (status.Committed?.Checkpoint is { } c ? $" from checkpoint {c}" : " (nothing committed)"));

    var columns = new[] { options.IdColumn }.Concat(options.Features).Append(options.Label).ToArray();
    var ranks = Enumerable.Range(0, options.WorldSize)
        .Select(rank => client.ReadRunAsync(options.Job, options.Run, rank, options.WorldSize, new RunReadOptions { Columns = columns }).GetAsyncEnumerator())
        .ToArray();
    var clock = Stopwatch.StartNew();
    long steps = 0, records = 0;
    try
    {
        while (options.MaxSteps is not { } max || steps < max)
        {
            var moved = await Task.WhenAll(ranks.Select(r => r.MoveNextAsync().AsTask()));
            if (moved.Any(m => !m))
            {
                // Every rank has the same steps: they all end together.
                break;
            }

            var batches = ranks.Select(r => r.Current).ToArray();
            var position = batches[0].Position;
            optimizer.zero_grad();
            using (var scope = torch.NewDisposeScope())
            {
                var losses = batches.Select(batch =>
                {
                    var (x, y) = Tensors(batch, options);
                    return nn.functional.mse_loss(model.forward(x), y);
                }).ToArray();
                var loss = torch.stack(losses).mean();
                loss.backward();
                optimizer.step();
                if (steps % 10 == 0)
                {
                    Console.Error.WriteLine($"epoch {position.Epoch} step {position.Step}: loss {loss.item<float>():F4}");
                }
            }

            records += batches.Sum(b => b.Count);
            foreach (var batch in batches)
            {
                batch.Dispose();
            }

            steps++;
            var lastOfEpoch = status.StepsPerEpoch is { } perEpoch && position.Step == perEpoch - 1;
            if ((position.Step + 1) % options.CheckpointEvery == 0 || lastOfEpoch)
            {
                var name = $"ckpt-e{position.Epoch}-s{position.Step}.dat";
                DurableSave(model, options.CheckpointDir, name);
                await client.CommitAsync(options.Job, options.Run, position.Epoch, position.Step, name);
            }
        }
    }
    finally
    {
        foreach (var rank in ranks)
        {
            await rank.DisposeAsync();
        }
    }

    var after = await client.GetRunAsync(options.Job, options.Run);
    var weights = string.Join(", ", model.weight!.data<float>().ToArray().Select(w => w.ToString("F3", CultureInfo.InvariantCulture)));
    Console.Error.WriteLine(
        $"run {options.Run}: {steps} steps, {records} records in {clock.Elapsed.TotalSeconds:F1} s; weights [{weights}], bias {model.bias!.item<float>():F3}; "
        + $"committed {(after.Committed is { } done ? $"epoch {done.Epoch} step {done.Step}" : "nothing")}{(after.Finished ? " (finished)" : "")}");
    return 0;
}
catch (ShardsApiException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
catch (HttpRequestException e)
{
    Console.Error.WriteLine($"error: cannot reach {options.Server}: {e.Message}");
    return 1;
}

// The features and labels of one batch as tensors (CSV values come as text, other sources as numbers).
static (Tensor X, Tensor Y) Tensors(RankBatch batch, TrainerOptions options)
{
    var x = new float[batch.Count * options.Features.Length];
    var y = new float[batch.Count];
    var row = 0;
    foreach (var record in batch.Records.EnumerateArray())
    {
        for (var f = 0; f < options.Features.Length; f++)
        {
            x[(row * options.Features.Length) + f] = Number(record.GetProperty(options.Features[f]));
        }

        y[row++] = Number(record.GetProperty(options.Label));
    }

    return (torch.tensor(x, [batch.Count, options.Features.Length]), torch.tensor(y, [batch.Count, 1]));
}

static float Number(JsonElement value) =>
    value.ValueKind == JsonValueKind.String ? float.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetSingle();

// A checkpoint that survives a crash before the commit names it: written to a temporary file, flushed to disk, renamed.
// (.NET cannot fsync a directory; on a file system that needs it for the rename, a crash may keep the older name.)
static void DurableSave(nn.Module model, string directory, string name)
{
    Directory.CreateDirectory(directory);
    var final = Path.Combine(directory, name);
    var temporary = final + ".tmp";
    model.save(temporary);
    using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite))
    {
        file.Flush(flushToDisk: true);
    }

    File.Move(temporary, final, overwrite: true);
}

/// <summary>The trainer's command line.</summary>
internal sealed record TrainerOptions(
    string Server, string Job, string Run, int WorldSize, int? GlobalBatchSize, string CheckpointDir, int CheckpointEvery, long? MaxSteps,
    string IdColumn, string[] Features, string Label, double LearningRate, long Seed);

/// <summary>--name value pairs into <see cref="TrainerOptions"/>.</summary>
internal static class Arguments
{
    public static TrainerOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        if (args.Length % 2 != 0 || !values.TryGetValue("job", out var job) || !values.TryGetValue("run", out var run))
        {
            return null;
        }

        string Get(string key, string fallback) => values.TryGetValue(key, out var v) ? v : fallback;
        int? Int(string key) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;
        return new TrainerOptions(
            Get("server", Environment.GetEnvironmentVariable("SHARDS_SERVER") ?? "http://127.0.0.1:5080"),
            job,
            run,
            Int("world-size") ?? 2,
            Int("global-batch-size"),
            Get("checkpoint-dir", "checkpoints"),
            Int("checkpoint-every") ?? 4,
            Int("max-steps"),
            Get("id-column", "id"),
            Get("features", "x1,x2").Split(','),
            Get("label", "y"),
            double.Parse(Get("lr", "0.05"), CultureInfo.InvariantCulture),
            long.Parse(Get("seed", "0"), CultureInfo.InvariantCulture));
    }
}
