using System.CommandLine;
using System.Globalization;
using OrleansShards.Client;
using Spectre.Console;

namespace OrleansShards.Cli;

/// <summary><c>shards run create|status|list|rewind|delete</c>: synchronous training runs over a job (docs/http-api.md, "Runs").</summary>
internal static class RunCommands
{
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print the server's answer as JSON instead of a table" };

    public static Command Build()
    {
        var run = new Command("run", "Create and inspect training runs: equal batches per rank, commits tied to checkpoints");

        var createJob = new Argument<string>("job") { Description = "The job" };
        var createName = new Argument<string>("run") { Description = "The run's name" };
        var batch = new Option<int>("--global-batch-size", "-g") { Description = "G: records of one step over all ranks (every world size must divide it)", Required = true };
        var keep = new Option<bool>("--keep-remainder") { Description = "Serve ⌈N/G⌉ steps an epoch, the last one filled up from the epoch's start (default: drop the remainder)" };
        var create = new Command("create", "Create a run over a job (the same spec again is accepted: idempotent)") { createJob, createName, batch, keep, JsonOption };
        create.SetAction(async (context, cancellationToken) =>
        {
            var size = context.Parse.GetValue(batch);
            if (size < 1)
            {
                throw new CliException($"--global-batch-size must be at least 1, not {size}");
            }

            var spec = new RunCreateRequest(context.Parse.GetRequiredValue(createName), size, context.Parse.GetValue(keep) ? false : null);
            var status = await context.Client().CreateRunAsync(context.Parse.GetRequiredValue(createJob), spec, cancellationToken);
            Print(context, status);
            return 0;
        });
        run.Add(create);

        var statusJob = new Argument<string>("job") { Description = "The job" };
        var statusName = new Argument<string?>("run") { Description = "The run (every run of the job when absent)", Arity = ArgumentArity.ZeroOrOne };
        var status = new Command("status", "Show a run: committed step, where its ranks resume") { statusJob, statusName, JsonOption };
        status.SetAction(async (context, cancellationToken) =>
        {
            var job = context.Parse.GetRequiredValue(statusJob);
            if (context.Parse.GetValue(statusName) is { } name)
            {
                var one = await context.Client().GetRunAsync(job, name, cancellationToken);
                if (context.Parse.GetValue(JsonOption))
                {
                    ShardsCommandLine.PrintJson(one);
                }
                else
                {
                    WriteDetails(one);
                }

                return 0;
            }

            return await List(context, job, cancellationToken);
        });
        run.Add(status);

        var listJob = new Argument<string>("job") { Description = "The job" };
        var list = new Command("list", "List the runs of a job") { listJob, JsonOption };
        list.SetAction((context, cancellationToken) => List(context, context.Parse.GetRequiredValue(listJob), cancellationToken));
        run.Add(list);

        var rewindJob = new Argument<string>("job") { Description = "The job" };
        var rewindName = new Argument<string>("run") { Description = "The run" };
        var checkpoint = new Option<string?>("--checkpoint", "-c") { Description = "The checkpoint name of the commit to go back to" };
        var epoch = new Option<int?>("--epoch") { Description = "The epoch of the committed step to go back to (with --step)" };
        var step = new Option<long?>("--step") { Description = "The committed step to go back to (with --epoch)" };
        var rewind = new Command("rewind", "Go back to an earlier commit (the trainer restored an older checkpoint): the ranks resume after it, later commits are forgotten")
        {
            rewindJob, rewindName, checkpoint, epoch, step, JsonOption,
        };
        rewind.SetAction(async (context, cancellationToken) =>
        {
            var job = context.Parse.GetRequiredValue(rewindJob);
            var name = context.Parse.GetRequiredValue(rewindName);
            var named = context.Parse.GetValue(checkpoint);
            var e = context.Parse.GetValue(epoch);
            var s = context.Parse.GetValue(step);
            var client = context.Client();
            TrainingRun after = (named, e, s) switch
            {
                ({ } c, null, null) => await client.RewindAsync(job, name, c, cancellationToken),
                (null, { } ep, { } st) => await client.RewindAsync(job, name, new RunStep(ep, st), cancellationToken),
                _ => throw new CliException("rewind needs either --checkpoint NAME or both --epoch E and --step S"),
            };
            Print(context, after);
            return 0;
        });
        run.Add(rewind);

        var deleteJob = new Argument<string>("job") { Description = "The job" };
        var deleteName = new Argument<string>("run") { Description = "The run" };
        var delete = new Command("delete", "Delete a run and its commits (the job stays)") { deleteJob, deleteName };
        delete.SetAction(async (context, cancellationToken) =>
        {
            var job = context.Parse.GetRequiredValue(deleteJob);
            var name = context.Parse.GetRequiredValue(deleteName);
            await context.Client().DeleteRunAsync(job, name, cancellationToken);
            Console.Out.WriteLine($"run {name} of job {job}: deleted");
            return 0;
        });
        run.Add(delete);
        return run;
    }

    /// <summary>One line for a person, or the whole status as JSON with --json.</summary>
    private static void Print(CliContext context, TrainingRun status)
    {
        if (context.Parse.GetValue(JsonOption))
        {
            ShardsCommandLine.PrintJson(status);
        }
        else
        {
            Console.Out.WriteLine($"run {status.Run}: {Committed(status)}; resume at {Position(status.ResumeAt)}{(status.Finished ? " (finished)" : "")}");
        }
    }

    private static async Task<int> List(CliContext context, string job, CancellationToken cancellationToken)
    {
        var runs = await context.Client().ListRunsAsync(job, cancellationToken);
        if (context.Parse.GetValue(JsonOption))
        {
            ShardsCommandLine.PrintJson(new { runs });
            return 0;
        }

        if (runs.Count == 0)
        {
            Console.Out.WriteLine($"no runs of job {job}");
            return 0;
        }

        var table = new CliTable("run", "G", "steps/epoch", "epochs", "committed", "checkpoint", "resume at", "finished");
        foreach (var run in runs)
        {
            table.Add(
                run.Run, N(run.GlobalBatchSize), run.StepsPerEpoch is { } steps ? N(steps) : "live", N(run.Epochs),
                run.Committed is { } c ? Position(new RunStep(c.Epoch, c.Step)) : "-", run.Committed?.Checkpoint ?? "-",
                Position(run.ResumeAt), run.Finished ? new CliCell("yes", "green") : "no");
        }

        table.Write();
        return 0;
    }

    private static void WriteDetails(TrainingRun run)
    {
        var grid = new CliTable("field", "value") { ShowHeaders = false };
        grid.Add("run", run.Run);
        grid.Add("global batch", $"{N(run.GlobalBatchSize)} records a step{(run.DropRemainder ? ", remainder dropped" : ", last step filled up")}");
        grid.Add("steps", run.StepsPerEpoch is { } steps ? $"{N(steps)} an epoch, {N(run.Epochs)} epoch(s)" : "live: one endless epoch");
        grid.Add("committed", Committed(run));
        grid.Add("resume at", run.Finished ? new CliCell(Position(run.ResumeAt) + " (finished)", "green") : Position(run.ResumeAt));
        foreach (var (key, value) in run.More ?? new Dictionary<string, System.Text.Json.JsonElement>())
        {
            grid.Add(key, value.ToString());
        }

        grid.Write();
    }

    private static string Committed(TrainingRun run) => run.Committed is { } c
        ? $"committed {Position(new RunStep(c.Epoch, c.Step))}{(c.Checkpoint is { } name ? $" ({name})" : "")}"
        : "nothing committed";

    private static string Position(RunStep position) => string.Create(CultureInfo.InvariantCulture, $"epoch {position.Epoch} step {position.Step}");

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
