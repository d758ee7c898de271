using System.Diagnostics;
using System.Reflection;

namespace OrleansShards.Cli.Tests;

/// <summary>What a process printed and how it ended.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the built <c>shards</c> tool (and other programs) as real processes.</summary>
public static class ShardsProcess
{
    /// <summary>Generous: the machine is small and shared.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public static string CliPath => Metadata("ShardsCli");

    public static string Metadata(string key) =>
        typeof(ShardsProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"no {key} metadata");

    /// <summary>Runs <c>shards ARGS</c> against <paramref name="server"/> (through SHARDS_SERVER).</summary>
    public static Task<ProcessResult> Shards(Uri? server, params string[] args) => ShardsWithInput(server, null, args);

    /// <summary>Runs <c>shards ARGS</c> with <paramref name="stdin"/> as its standard input.</summary>
    public static Task<ProcessResult> ShardsWithInput(Uri? server, string? stdin, params string[] args)
    {
        Assert.True(File.Exists(CliPath), $"the shards tool is not built at {CliPath}");
        var env = new Dictionary<string, string?> { ["SHARDS_SERVER"] = server?.ToString(), ["SHARDS_TOKEN"] = null };
        return Run("dotnet", [CliPath, .. args], env, stdin);
    }

    public static async Task<ProcessResult> Run(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? env = null, string? stdin = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(timeout ?? Timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not end within {timeout ?? Timeout}; stderr so far: {(stderr.IsCompleted ? await stderr : "")}");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Asserts the one-line error rule: non-zero exit, exactly one line on stderr, no stack trace.</summary>
    public static string AssertOneLineError(ProcessResult result)
    {
        Assert.True(result.ExitCode != 0, result.ToString());
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr: " + result);
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
        return lines[0];
    }
}
