using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Packages.Tests;

/// <summary>
/// The packages in a temporary folder feed, packed once for the test class from the projects' build output
/// (<c>dotnet pack --no-build</c>: the test project builds them), and a running silo with a CSV file for a job.
/// </summary>
public sealed class PackageFeedFixture : InProcessServer
{
    /// <summary>The packages people install, each with its project.</summary>
    public static readonly IReadOnlyDictionary<string, string> Packages = new Dictionary<string, string>
    {
        ["OrleansShards.Core"] = "src/Core/Core.csproj",
        ["OrleansShards.GrainInterfaces"] = "src/GrainInterfaces/GrainInterfaces.csproj",
        ["OrleansShards.Providers"] = "src/Providers/Providers.csproj",
        ["OrleansShards.Client"] = "src/Client/Client.csproj",
        ["OrleansShards.Cli"] = "src/Cli/Cli.csproj",
    };

    public PackageFeedFixture()
        : base("packages")
    {
    }

    /// <summary>The folder feed.</summary>
    public string Feed => Path.Combine(Root, "feed");

    /// <summary>A directory outside the repository for consumer projects and tools.</summary>
    public string Outside => Path.Combine(Root, "outside");

    /// <summary>The repository root.</summary>
    public string Repository { get; } = FindRepository();

    /// <summary>The configuration the tests (and so the packed projects) were built in.</summary>
    public string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>The version every package got (Directory.Build.props).</summary>
    public string Version { get; private set; } = "";

    /// <summary>The rows of <c>rows.csv</c> in the silo's data directory.</summary>
    public const int Rows = 3_000;

    protected override async Task PrepareAsync()
    {
        var csv = new StringBuilder("id,text\n");
        for (var id = 0; id < Rows; id++)
        {
            csv.Append(id).Append(",row ").Append(id).Append('\n');
        }

        await System.IO.File.WriteAllTextAsync(Path.Combine(DataDir, "rows.csv"), csv.ToString());
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(Outside);
        foreach (var project in Packages.Values)
        {
            var (exit, output) = await RunAsync("dotnet", Repository, TimeSpan.FromMinutes(5), "pack", project, "--no-build", "-c", Configuration, "-o", Feed, "-nologo");
            Assert.True(exit == 0, $"dotnet pack {project} exited {exit}:\n{output}");
        }

        var client = Directory.GetFiles(Feed, "OrleansShards.Client.*.nupkg").Single(f => !f.EndsWith(".snupkg", StringComparison.Ordinal));
        Version = Nuspec(client).Descendants().First(e => e.Name.LocalName == "version").Value;
    }

    /// <summary>The .nuspec inside a package.</summary>
    public static XDocument Nuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using var stream = entry.Open();
        return XDocument.Load(stream);
    }

    /// <summary>Runs a process to its end (killed after <paramref name="timeout"/>); answers its exit code and output.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string file, string directory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The child restores and builds on its own: no MSBuild node or settings of the test run leak into it.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} ran longer than {timeout}:\n{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string FindRepository()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !System.IO.File.Exists(Path.Combine(root.FullName, "OrleansShards.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new InvalidOperationException($"no OrleansShards.sln above {AppContext.BaseDirectory}");
    }
}
