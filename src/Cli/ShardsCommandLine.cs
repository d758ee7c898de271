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
        return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
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
            var body = SpecFiles.ReadAsJson(context.Parse.GetRequiredValue(file));
            var status = await context.Client().CreateJobAsync(body, cancellationToken);
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
                    JobTables.WriteDetails(one);
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
            JobTables.WriteList(jobs);
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
    public static void WriteList(IReadOnlyList<JobStatus> jobs)
    {
        if (jobs.Count == 0)
        {
            AnsiConsole.MarkupLine("[grey]no jobs[/]");
            return;
        }

        var table = new Table().AddColumns("id", "state", "epoch", "shards done", "todo", "doing", "failed", "records");
        foreach (var job in jobs)
        {
            table.AddRow(
                Markup.Escape(job.Id), StateMarkup(job.State), $"{Math.Min(job.Epoch + 1, job.Epochs)}/{job.Epochs}",
                $"{job.Shards.Done}/{job.Shards.Total}", N(job.Shards.Todo), N(job.Shards.Doing), N(job.Shards.Failed), N(job.Records.Delivered));
        }

        AnsiConsole.Write(table);
    }

    public static void WriteDetails(JobStatus job)
    {
        var grid = new Table().HideHeaders().AddColumns("", "");
        grid.AddRow("id", Markup.Escape(job.Id));
        grid.AddRow("state", StateMarkup(job.State));
        grid.AddRow("source", Markup.Escape($"{job.Spec.Source?.Kind} {string.Join(", ", job.Spec.Source?.Paths ?? [job.Spec.Source?.Path ?? job.Spec.Source?.Table ?? job.Spec.Source?.Topic ?? ""])}".Trim()));
        grid.AddRow("epoch", $"{Math.Min(job.Epoch + 1, job.Epochs)} of {job.Epochs}");
        grid.AddRow("shards", $"{job.Shards.Total} total: {job.Shards.Done} done, {job.Shards.Todo} todo, {job.Shards.Doing} doing, {job.Shards.Failed} failed");
        grid.AddRow("records", job.Records.Total is { } total ? $"{N(job.Records.Delivered)} delivered of {N(total)}" : $"{N(job.Records.Delivered)} delivered");
        grid.AddRow("created", job.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
        AnsiConsole.Write(grid);

        if (job.Partitions.Count > 0)
        {
            var partitions = new Table().AddColumns("partition", "path", "records", "shards");
            foreach (var p in job.Partitions)
            {
                partitions.AddRow(N(p.Partition), Markup.Escape(p.Path), p.Records is { } r ? N(r) : "?", p.Shards is { } s ? N(s) : "?");
            }

            AnsiConsole.Write(partitions);
        }

        if (job.DeadLetters.Count > 0)
        {
            var dead = new Table().Title("dead letters").AddColumns("task", "attempts", "last error");
            foreach (var d in job.DeadLetters)
            {
                dead.AddRow(Markup.Escape(d.TaskId), N(d.Attempts), Markup.Escape(d.LastError));
            }

            AnsiConsole.Write(dead);
        }
    }

    public static string StateMarkup(string state) => state switch
    {
        JobStates.Running => "[blue]running[/]",
        JobStates.Completed => "[green]completed[/]",
        JobStates.Failed => "[red]failed[/]",
        JobStates.Paused => "[yellow]paused[/]",
        JobStates.Cancelled => "[grey]cancelled[/]",
        _ => Markup.Escape(state),
    };

    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
