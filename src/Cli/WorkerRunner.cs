using System.CommandLine;
using System.Diagnostics;
using System.Text;
using OrleansShards.Client;

namespace OrleansShards.Cli;

/// <summary>
/// <c>shards worker run --job ID -- COMMAND ARGS...</c>: leases the job's tasks and runs the command
/// once per task, with the task's records as JSON Lines on its stdin. Exit code 0 reports the task
/// done; any other reports it failed with the tail of the command's stderr. Leases are renewed while
/// the command runs; a command whose lease was lost is killed.
/// </summary>
internal static class WorkerRunner
{
    private const int StderrTail = 2000;

    public static Command Build()
    {
        var job = new Option<string>("--job") { Description = "The job to work on", Required = true };
        var workerId = new Option<string?>("--worker-id") { Description = "The worker's id (default: host, process and a random part)" };
        var maxTasks = new Option<int>("--max-tasks") { Description = "Tasks leased with one request (they run one after another)", DefaultValueFactory = _ => 1 };
        var batchSize = new Option<int?>("--batch-size") { Description = "Records per page read from the server" };
        var columns = new Option<string?>("--columns") { Description = "Only these columns, comma-separated" };
        var command = new Argument<string[]>("command")
        {
            Description = "The command and its arguments, after --",
            Arity = ArgumentArity.OneOrMore,
            CaptureRemainingTokens = true,
        };
        var run = new Command("run", "Run COMMAND once per task with the task's records as JSON Lines on stdin; its exit code is the report")
        {
            job, workerId, maxTasks, batchSize, columns, command,
        };

        var worker = new Command("worker", "Work on a job's tasks with any program") { run };
        run.SetAction(async (context, cancellationToken) =>
        {
            var argv = context.Parse.GetRequiredValue(command);
            var options = new ConsumeOptions
            {
                MaxTasks = context.Parse.GetValue(maxTasks),
                BatchSize = context.Parse.GetValue(batchSize),
                Columns = context.Parse.GetValue(columns)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            if (context.Parse.GetValue(workerId) is { Length: > 0 } id)
            {
                options.WorkerId = id;
            }

            var jobId = context.Parse.GetRequiredValue(job);
            // A worker rides out a server restart: retry harder than an interactive command.
            var client = context.Client(retries: 8);
            var summary = await client.ProcessAsync(jobId, (task, token) => RunTask(task, argv, token), options, cancellationToken);
            await Console.Error.WriteLineAsync($"worker {options.WorkerId}: job {jobId} is {summary.JobState ?? "unknown"}; {summary.Done} task(s) done, {summary.Failed} failed, {summary.Lost} lost");
            return 0;
        });
        return worker;
    }

    private static async Task RunTask(LeasedTask task, string[] argv, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = false,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["SHARDS_JOB_ID"] = task.JobId;
        start.Environment["SHARDS_TASK_ID"] = task.TaskId;
        start.Environment["SHARDS_EPOCH"] = task.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["SHARDS_PARTITION"] = task.Shard.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["SHARDS_ATTEMPT"] = task.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new CliException($"cannot start '{argv[0]}'");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // Not the task's fault, and every task would fail the same way: stop the worker.
            throw new StopConsumingException($"cannot start '{argv[0]}': {e.Message}");
        }

        using (process)
        {
            var stderr = new StringBuilder();
            var readErrors = Task.Run(async () =>
            {
                var buffer = new char[4096];
                int read;
                while ((read = await process.StandardError.ReadAsync(buffer)) > 0)
                {
                    // Passed on, so the command's messages are seen as they come; the tail is kept for the report.
                    await Console.Error.WriteAsync(buffer.AsMemory(0, read));
                    lock (stderr)
                    {
                        stderr.Append(buffer, 0, read);
                        if (stderr.Length > StderrTail * 2)
                        {
                            stderr.Remove(0, stderr.Length - StderrTail);
                        }
                    }
                }
            }, CancellationToken.None);

            long records = 0;
            try
            {
                records = await FeedAsync(task, process.StandardInput, cancellationToken);
            }
            catch (IOException)
            {
                // The command closed its stdin before reading everything: its exit code decides.
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                throw;
            }
            finally
            {
                try
                {
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                }
            }

            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                throw;
            }

            await readErrors;
            if (process.ExitCode != 0)
            {
                string tail;
                lock (stderr)
                {
                    tail = stderr.ToString().Trim();
                }

                tail = tail.Length > StderrTail ? tail[^StderrTail..] : tail;
                await Console.Error.WriteLineAsync($"task {task.TaskId}: '{argv[0]}' exited with {process.ExitCode}");
                throw new InvalidOperationException($"'{argv[0]}' exited with code {process.ExitCode}" + (tail.Length > 0 ? $": {tail}" : ""));
            }

            await Console.Error.WriteLineAsync($"task {task.TaskId}: done, {records} records");
        }
    }

    private static async Task<long> FeedAsync(LeasedTask task, StreamWriter stdin, CancellationToken cancellationToken)
    {
        long records = 0;
        await foreach (var page in task.ReadBatchesAsync(cancellationToken))
        {
            using (page)
            {
                foreach (var record in page.Records.EnumerateArray())
                {
                    await stdin.WriteAsync(record.GetRawText().AsMemory(), cancellationToken);
                    await stdin.WriteAsync('\n');
                    records++;
                }
            }

            await stdin.FlushAsync(cancellationToken);
        }

        return records;
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited already.
        }
    }
}
