using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.GrainInterfaces;
using OrleansShards.Silo.Hosting;
using Spectre.Console;

namespace OrleansShards.Cli;

/// <summary>What every command gets: the client of the server named by <c>--server</c>, with <c>--token</c>.</summary>
internal sealed class CliContext(Uri server, string? token, ParseResult parse) : IDisposable
{
    private HttpClient? _http;

    public Uri Server { get; } = server;

    public ParseResult Parse { get; } = parse;

    /// <summary>A client that retries a little: a command someone typed should fail fast when the server is down.</summary>
    public ShardsClient Client(int retries = 2)
    {
        _http ??= CreateHttp();
        return new ShardsClient(_http, new ShardsClientOptions { MaxRetryAttempts = retries });
    }

    private HttpClient CreateHttp()
    {
        var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = Server,
            // Streams (topic tail --follow) and long reads run as long as they need; connecting is bounded above.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (!string.IsNullOrEmpty(token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("shards-cli", "1.0"));
        return http;
    }

    public void Dispose() => _http?.Dispose();
}

/// <summary>The <c>shards</c> command line: commands, global options, and the one-line error rule.</summary>
internal static class ShardsCommandLine
{
    public const string DefaultServer = "http://127.0.0.1:5080";

    private static readonly JsonSerializerOptions Indented = new(ShardsClient.Json) { WriteIndented = true };

    private static readonly Option<string> ServerOption = new("--server")
    {
        Description = "The server's address (env SHARDS_SERVER)",
        Recursive = true,
        HelpName = "url",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SHARDS_SERVER") is { Length: > 0 } env ? env : DefaultServer,
    };

    private static readonly Option<string?> TokenOption = new("--token")
    {
        Description = "A bearer token (env SHARDS_TOKEN)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SHARDS_TOKEN"),
    };

    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print the server's answer as JSON instead of a table" };

    public static async Task<int> RunAsync(string[] args)
    {
        var root = Build();
        var parse = root.Parse(args);
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false,
            // Ctrl+C or SIGTERM cancels the command; it then has this long to stop its task's process and release its
            // leases (System.CommandLine's default, 2 s, can cut a release short on a busy machine).
            ProcessTerminationTimeout = TimeSpan.FromSeconds(15),
        });
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("shards: create, watch and feed OrleansShards jobs; run a server or a worker")
        {
            ServerOption,
            TokenOption,
        };
        root.Add(ServeCommand());
        root.Add(JobCommand());
        root.Add(TopicCommands.Build());
        root.Add(RunCommands.Build());
        root.Add(WorkerRunner.Build());
        return root;
    }

    /// <summary>Runs a command body with the client; any failure becomes one line on stderr and exit code 1.</summary>
    public static void SetAction(this Command command, Func<CliContext, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var serverText = parse.GetValue(ServerOption) ?? DefaultServer;
            if (!Uri.TryCreate(serverText.EndsWith('/') ? serverText : serverText + "/", UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
            {
                await Console.Error.WriteLineAsync($"error: --server '{serverText}' is not an http:// or https:// address");
                return 2;
            }

            using var context = new CliContext(server, parse.GetValue(TokenOption), parse);
            try
            {
                return await body(context, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("interrupted");
                return 130;
            }
            catch (Exception e)
            {
                await Console.Error.WriteLineAsync("error: " + CliErrors.OneLine(CliErrors.Describe(e, server)));
                return 1;
            }
        });

    public static void PrintJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Indented));

    private static Command ServeCommand()
    {
        var urls = new Option<string?>("--urls") { Description = "Where the HTTP API listens (default: the --server address)" };
        var dataDir = new Option<string?>("--data-dir") { Description = "The server's data directory (Shards:DataDir): state and relative source paths" };
        var serve = new Command("serve", "Run a silo with the HTTP API in this process (more settings as --Shards:Key=value)")
        {
            urls,
            dataDir,
        };
        serve.TreatUnmatchedTokensAsErrors = false;
        serve.SetAction(async (context, cancellationToken) =>
        {
            var args = new List<string>
            {
                "--urls", context.Parse.GetValue(urls) ?? context.Server.GetLeftPart(UriPartial.Authority),
                // A request log line per call drowns what matters; --Logging:LogLevel:Microsoft.AspNetCore=Information brings it back.
                "--Logging:LogLevel:Microsoft.AspNetCore=Warning",
                "--Logging:LogLevel:Orleans=Warning",
            };
            if (context.Parse.GetValue(dataDir) is { } dir)
            {
                args.Add($"--Shards:DataDir={dir}");
            }

            args.AddRange(context.Parse.UnmatchedTokens);
            var app = ShardsServer.Build([.. args]);
            await using (app)
            {
                await app.StartAsync(cancellationToken);
                await Console.Error.WriteLineAsync($"shards: serving on {string.Join(", ", app.Urls)}; Ctrl+C stops");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                }

                await app.StopAsync(CancellationToken.None);
            }

            return 0;
        });
        return serve;
    }

    private static Command JobCommand()
    {
        var job = new Command("job", "Create, inspect and steer jobs");

        var file = new Option<string>("--file", "-f") { Description = "The job spec: JSON, or YAML (.yaml/.yml); - reads JSON from stdin", Required = true };
        var create = new Command("create", "Create a job from a spec file (the same spec again is accepted: idempotent)") { file, JsonOption };
        create.SetAction(async (context, cancellationToken) =>
        {
            var spec = SpecFiles.Read(context.Parse.GetRequiredValue(file));
            JobStatus status;
            try
            {
                status = await context.Client().CreateJobAsync(spec.Json, cancellationToken);
            }
            catch (ShardsApiException e) when (e.Status == 400 && spec.PlaceOf(e.Field) is { } place)
            {
                // The server names the field; the user wrote YAML: say where in their file.
                throw new CliException($"{place} ('{e.Field}'): {e.Detail}");
            }
            if (context.Parse.GetValue(JsonOption))
            {
                PrintJson(status);
            }
            else
            {
                Console.Out.WriteLine(status.Id);
                await Console.Error.WriteLineAsync($"job {status.Id}: {status.State}, {status.Shards.Total} shards, {status.Epochs} epoch(s)");
            }

            return 0;
        });
        job.Add(create);

        var optionalId = new Argument<string?>("id") { Description = "The job (all jobs when absent)", Arity = ArgumentArity.ZeroOrOne };
        var status = new Command("status", "Show a job, or every job") { optionalId, JsonOption };
        status.SetAction(async (context, cancellationToken) =>
        {
            var client = context.Client();
            if (context.Parse.GetValue(optionalId) is { } id)
            {
                var one = await client.GetJobAsync(id, cancellationToken);
                if (context.Parse.GetValue(JsonOption))
                {
                    PrintJson(one);
                }
                else
                {
                    JobTables.WriteDetails(one, client.Options.TimeProvider.GetUtcNow());
                }

                return 0;
            }

            return await ListJobs(context, client, cancellationToken);
        });
        job.Add(status);

        var list = new Command("list", "List every job") { JsonOption };
        list.SetAction((context, cancellationToken) => ListJobs(context, context.Client(), cancellationToken));
        job.Add(list);

        job.Add(JobWatch.Build());
        job.Add(Lifecycle("pause", "Stop handing out leases; leases in flight may finish", (c, id, t) => c.PauseJobAsync(id, t)));
        job.Add(Lifecycle("resume", "Hand out leases again after a pause", (c, id, t) => c.ResumeJobAsync(id, t)));
        job.Add(Lifecycle("cancel", "Refuse leases from now on; the job's state is kept", (c, id, t) => c.CancelJobAsync(id, t)));

        var retryId = new Argument<string>("id") { Description = "The job" };
        var retryTasks = new Argument<string[]>("tasks") { Description = "Dead-lettered task ids to retry (all of the current epoch when none is named)", Arity = ArgumentArity.ZeroOrMore };
        var retry = new Command("retry", "Put dead-lettered tasks back in the queue with a fresh count of attempts") { retryId, retryTasks, JsonOption };
        retry.SetAction(async (context, cancellationToken) =>
        {
            var jobId = context.Parse.GetRequiredValue(retryId);
            var named = context.Parse.GetValue(retryTasks) is { Length: > 0 } tasks ? tasks : null;
            var answer = await context.Client().RetryDeadLettersAsync(jobId, named, cancellationToken);
            if (context.Parse.GetValue(JsonOption))
            {
                PrintJson(answer);
            }
            else
            {
                Console.Out.WriteLine($"job {jobId}: {answer.Retried.Count} dead-lettered task(s) back in the queue{(answer.Retried.Count > 0 ? ": " + string.Join(", ", answer.Retried) : "")}");
                foreach (var refused in answer.NotRetried)
                {
                    Console.Error.WriteLine($"not retried: {refused.TaskId}: {refused.Reason}");
                }
            }

            return answer.NotRetried.Count == 0 ? 0 : 1;
        });
        job.Add(retry);

        var deleteId = new Argument<string>("id") { Description = "The job" };
        var delete = new Command("delete", "Delete a job and its stored state") { deleteId };
        delete.SetAction(async (context, cancellationToken) =>
        {
            var id = context.Parse.GetRequiredValue(deleteId);
            await context.Client().DeleteJobAsync(id, cancellationToken);
            Console.Out.WriteLine($"job {id}: deleted");
            return 0;
        });
        job.Add(delete);
        job.Add(CheckpointCommand());
        return job;
    }

    private static async Task<int> ListJobs(CliContext context, ShardsClient client, CancellationToken cancellationToken)
    {
        var jobs = await client.ListJobsAsync(cancellationToken);
        if (context.Parse.GetValue(JsonOption))
        {
            PrintJson(new { jobs });
        }
        else
        {
            JobTables.WriteList(jobs, client.Options.TimeProvider.GetUtcNow());
        }

        return 0;
    }

    private static Command Lifecycle(string name, string description, Func<ShardsClient, string, CancellationToken, Task<JobStatus>> change)
    {
        var id = new Argument<string>("id") { Description = "The job" };
        var command = new Command(name, description) { id, JsonOption };
        command.SetAction(async (context, cancellationToken) =>
        {
            var status = await change(context.Client(), context.Parse.GetRequiredValue(id), cancellationToken);
            if (context.Parse.GetValue(JsonOption))
            {
                PrintJson(status);
            }
            else
            {
                Console.Out.WriteLine($"job {status.Id}: {status.State}");
            }

            return 0;
        });
        return command;
    }

    private static Command CheckpointCommand()
    {
        var checkpoint = new Command("checkpoint", "Export a job's checkpoint, or create a job from one");

        var id = new Argument<string>("id") { Description = "The job" };
        var output = new Option<string?>("--output", "-o") { Description = "The file to write (stdout when absent)" };
        var export = new Command("export", "Write a job's checkpoint document") { id, output };
        export.SetAction(async (context, cancellationToken) =>
        {
            var document = await context.Client().ExportCheckpointJsonAsync(context.Parse.GetRequiredValue(id), cancellationToken);
            if (context.Parse.GetValue(output) is { } path)
            {
                try
                {
                    await File.WriteAllTextAsync(path, document, cancellationToken);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new CliException($"{path}: cannot write: {e.Message}");
                }

                await Console.Error.WriteLineAsync($"checkpoint of job {context.Parse.GetRequiredValue(id)} written to {path}");
            }
            else
            {
                Console.Out.WriteLine(document);
            }

            return 0;
        });
        checkpoint.Add(export);

        var file = new Option<string>("--file", "-f") { Description = "The checkpoint document (- reads stdin)", Required = true };
        var import = new Command("import", "Create a job from a checkpoint document; tasks that were in flight are re-queued") { file, JsonOption };
        import.SetAction(async (context, cancellationToken) =>
        {
            var document = SpecFiles.ReadAsJson(context.Parse.GetRequiredValue(file));
            var status = await context.Client().ImportCheckpointAsync(document, cancellationToken);
            if (context.Parse.GetValue(JsonOption))
            {
                PrintJson(status);
            }
            else
            {
                Console.Out.WriteLine(status.Id);
                await Console.Error.WriteLineAsync($"job {status.Id}: imported, {status.State}, {status.Shards.Done}/{status.Shards.Total} shards done");
            }

            return 0;
        });
        checkpoint.Add(import);
        return checkpoint;
    }
}

/// <summary>Tables of jobs for people.</summary>
internal static class JobTables
{
    public static void WriteList(IReadOnlyList<JobStatus> jobs, DateTimeOffset now)
    {
        if (jobs.Count == 0)
        {
            Console.Out.WriteLine("no jobs");
            return;
        }

        var table = new CliTable("id", "state", "epoch", "progress", "shards done", "doing", "dead", "attempts failed", "records", "lag", "elapsed");
        foreach (var job in jobs)
        {
            var progress = JobProgress.Of(job, now);
            table.Add(
                job.Id, State(job.State), progress.Live ? "live" : $"{Math.Min(job.Epoch + 1, job.Epochs)}/{job.Epochs}",
                progress.Live ? "live" : JobProgress.Percent(progress.Fraction),
                progress.Live ? N(job.Shards.Done) : $"{N(job.Shards.Done)}/{N(job.Shards.Total)}", N(job.Shards.Doing), N(job.Shards.Failed),
                N(progress.AttemptsFailed), N(job.Records.Delivered), progress.Lag is { } lag ? N(lag) : "-", JobProgress.Duration(progress.Elapsed));
        }

        table.Write();
    }

    public static void WriteDetails(JobStatus job, DateTimeOffset now)
    {
        var progress = JobProgress.Of(job, now);
        var grid = new CliTable("field", "value") { ShowHeaders = false };
        grid.Add("id", job.Id);
        grid.Add("state", State(job.State));
        grid.Add("source", $"{job.Spec.Source?.Kind} {string.Join(", ", job.Spec.Source?.Paths ?? [job.Spec.Source?.Path ?? job.Spec.Source?.Table ?? job.Spec.Source?.Topic ?? ""])}".Trim());
        if (progress.Live)
        {
            grid.Add("progress", $"live: {N(progress.Committed ?? 0)} committed of {N(progress.HighWatermark ?? 0)} appended, lag {N(progress.Lag ?? 0)}");
        }
        else
        {
            grid.Add("epoch", $"{Math.Min(job.Epoch + 1, job.Epochs)} of {job.Epochs}");
            grid.Add("progress", $"{JobProgress.Percent(progress.Fraction)} of {job.Epochs} epoch(s)");
        }

        grid.Add("shards", $"{N(job.Shards.Total)} {(progress.Live ? "cut" : "per epoch")}: {N(job.Shards.Done)} done, {N(job.Shards.Todo)} todo, {N(job.Shards.Doing)} doing, {N(job.Shards.Failed)} dead-lettered");
        grid.Add("records", job.Records.Total is { } total ? $"{N(job.Records.Delivered)} delivered of {N(total)}" : $"{N(job.Records.Delivered)} delivered");
        grid.Add("attempts failed", progress.AttemptsFailed == 0 ? "0" : new CliCell(N(progress.AttemptsFailed), "red"));
        grid.Add("created", job.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
        grid.Add("elapsed", JobProgress.Duration(progress.Elapsed));
        if (!progress.Live && job.State is JobStates.Running or JobStates.Paused)
        {
            grid.Add("eta", $"{JobProgress.Duration(progress.EtaAtAverageRate(job))} (at the average rate so far)");
        }

        grid.Write();

        if (job.Partitions.Count > 0)
        {
            var partitions = progress.Live
                ? new CliTable("partition", "path", "high-water mark", "split up to", "committed", "lag")
                : new CliTable("partition", "path", "records", "shards");
            foreach (var p in job.Partitions)
            {
                if (progress.Live)
                {
                    partitions.Add(N(p.Partition), p.Path, Maybe(p.HighWatermark), Maybe(p.SplitUpTo), Maybe(p.Committed), Maybe(p.Lag));
                }
                else
                {
                    partitions.Add(N(p.Partition), p.Path, Maybe(p.Records), Maybe(p.Shards));
                }
            }

            partitions.Write();
        }

        if (job.DeadLetters.Count > 0)
        {
            // Many shards usually die of one cause: one line per distinct error, with how many and which.
            var dead = new CliTable("shards", "attempts", "last error", "tasks") { Title = "dead letters" };
            foreach (var group in job.DeadLetters.GroupBy(d => CliErrors.OneLine(d.LastError)).OrderByDescending(g => g.Count()))
            {
                var tasks = group.Select(d => d.TaskId).ToList();
                dead.Add(N(tasks.Count), N(group.Sum(d => (long)d.Attempts)), group.Key, string.Join(", ", tasks.Take(3)) + (tasks.Count > 3 ? $" (+{tasks.Count - 3})" : ""));
            }

            dead.Write();
        }
    }

    private static string Maybe(long? value) => value is { } v ? N(v) : "?";

    public static CliCell State(string state) => state switch
    {
        JobStates.Running => new CliCell(state, "blue"),
        JobStates.Completed => new CliCell(state, "green"),
        JobStates.Failed => new CliCell(state, "red"),
        JobStates.Paused => new CliCell(state, "yellow"),
        JobStates.Cancelled => new CliCell(state, "grey"),
        _ => state,
    };

    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
