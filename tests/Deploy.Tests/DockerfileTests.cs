using System.Text.RegularExpressions;
using System.Xml.Linq;
using k8s.Models;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Deploy.Tests;

/// <summary>The rules the Dockerfile must keep; docker does not run here, so its text is checked.</summary>
public static partial class DockerfileChecks
{
    /// <summary>One instruction: its keyword and its arguments, continuation lines joined.</summary>
    public sealed record Instruction(string Keyword, string Arguments);

    /// <summary>The instructions grouped by build stage (each starts with FROM).</summary>
    public static List<List<Instruction>> Stages(string dockerfile)
    {
        var joined = Regex.Replace(dockerfile, @"\\\r?\n", " ");
        var stages = new List<List<Instruction>>();
        foreach (var line in joined.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var instruction = new Instruction(line[..space].ToUpperInvariant(), line[(space + 1)..].Trim());
            if (instruction.Keyword == "FROM")
            {
                stages.Add([]);
            }

            if (stages.Count > 0)
            {
                stages[^1].Add(instruction);
            }
        }

        return stages;
    }

    /// <summary>The problems of <paramref name="dockerfile"/>: <paramref name="entryAssembly"/> is the silo's assembly name, <paramref name="ports"/> the ports the pods use.</summary>
    public static IReadOnlyList<string> Check(string dockerfile, string entryAssembly, IEnumerable<int> ports)
    {
        var problems = new List<string>();
        var stages = Stages(dockerfile);
        if (stages.Count < 2)
        {
            problems.Add($"the Dockerfile has {stages.Count} stage(s): build with the SDK image and run on the runtime image");
            return problems;
        }

        var final = stages[^1];
        if (!final[0].Arguments.StartsWith("mcr.microsoft.com/dotnet/aspnet:", StringComparison.Ordinal))
        {
            problems.Add($"the final stage runs on '{final[0].Arguments}', not the ASP.NET runtime image");
        }

        if (!stages[..^1].Any(s => s[0].Arguments.StartsWith("mcr.microsoft.com/dotnet/sdk:", StringComparison.Ordinal)))
        {
            problems.Add("no build stage uses the .NET SDK image");
        }

        var user = final.LastOrDefault(i => i.Keyword == "USER")?.Arguments;
        if (user is null)
        {
            problems.Add("the final stage has no USER: the container would run as root");
        }
        else if (user.Split(':')[0] is "root" or "0")
        {
            problems.Add($"the final stage runs as USER {user}, which is root");
        }

        var runsAfterUser = final.SkipWhile(i => i.Keyword != "USER").Any(i => i.Keyword == "RUN");
        if (runsAfterUser)
        {
            problems.Add("a RUN follows USER in the final stage: give the image's files their owner before dropping root");
        }

        if (!stages.SelectMany(s => s).Any(i => i.Keyword == "RUN" && PublishSilo().IsMatch(i.Arguments)))
        {
            problems.Add("no stage runs dotnet publish src/Silo/Silo.csproj");
        }

        var entry = final.LastOrDefault(i => i.Keyword == "ENTRYPOINT")?.Arguments ?? "";
        if (!entry.Contains($"\"{entryAssembly}.dll\"", StringComparison.Ordinal))
        {
            problems.Add($"the ENTRYPOINT '{entry}' does not start {entryAssembly}.dll");
        }

        var exposed = final.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
        problems.AddRange(ports.Where(p => !exposed.Contains(p.ToString(System.Globalization.CultureInfo.InvariantCulture))).Select(p => $"the image does not EXPOSE port {p}"));
        return problems;
    }

    [GeneratedRegex(@"dotnet\s+publish\s+(\./)?src/Silo/Silo\.csproj\b")]
    private static partial Regex PublishSilo();
}

public sealed class DockerfileTests
{
    private static readonly string Dockerfile = File.ReadAllText(Path.Combine(Manifests.RepositoryRoot, "Dockerfile"));

    private static readonly string SiloAssembly = typeof(ShardsServer).Assembly.GetName().Name!;

    private static readonly int[] PodPorts = Manifests.LoadRepository().Applied<V1Deployment>()
        .SelectMany(d => d.Spec.Template.Spec.Containers).SelectMany(c => c.Ports).Select(p => p.ContainerPort).ToArray();

    [Fact]
    public void The_dockerfile_builds_the_silo_and_runs_it_as_a_non_root_user()
    {
        var problems = DockerfileChecks.Check(Dockerfile, SiloAssembly, PodPorts);

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.Equal([8080, 11111, 30000], PodPorts.Order());
    }

    [Theory]
    [InlineData("USER $APP_UID\n", "", "has no USER")]
    [InlineData("USER $APP_UID\n", "USER root\n", "runs as USER root")]
    [InlineData("USER $APP_UID\n", "USER 0\n", "runs as USER 0")]
    [InlineData("USER $APP_UID\n", "USER $APP_UID\nRUN mkdir /cache\n", "a RUN follows USER")]
    [InlineData("FROM mcr.microsoft.com/dotnet/aspnet:", "FROM mcr.microsoft.com/dotnet/sdk:", "not the ASP.NET runtime image")]
    [InlineData("dotnet publish src/Silo/Silo.csproj", "dotnet publish src/Client/Client.csproj", "no stage runs dotnet publish src/Silo/Silo.csproj")]
    [InlineData("\"OrleansShards.Silo.dll\"", "\"Silo.dll\"", "does not start OrleansShards.Silo.dll")]
    [InlineData("EXPOSE 8080 11111 30000", "EXPOSE 8080", "does not EXPOSE port 30000")]
    public void A_broken_dockerfile_is_caught(string old, string replacement, string expected)
    {
        Assert.Single(Regex.Matches(Dockerfile, Regex.Escape(old)));
        var broken = Dockerfile.Replace(old, replacement, StringComparison.Ordinal);

        var problems = DockerfileChecks.Check(broken, SiloAssembly, PodPorts);

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Everything_the_silo_is_built_from_is_copied_and_not_ignored()
    {
        // The build copies Directory.*.props and src/: every project the silo needs must live under src/.
        var projects = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.Combine(Manifests.RepositoryRoot, "src", "Silo", "Silo.csproj")]);
        while (pending.TryPop(out var project))
        {
            if (projects.Add(Path.GetFullPath(project)))
            {
                foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
                {
                    pending.Push(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value));
                }
            }
        }

        var src = Path.Combine(Manifests.RepositoryRoot, "src") + Path.DirectorySeparatorChar;
        Assert.All(projects, p => Assert.StartsWith(src, p, StringComparison.Ordinal));
        Assert.Contains(DockerfileChecks.Stages(Dockerfile).SelectMany(s => s), i => i.Keyword == "COPY" && i.Arguments.Contains("Directory.Build.props", StringComparison.Ordinal) && i.Arguments.Contains("Directory.Packages.props", StringComparison.Ordinal));
        Assert.Contains(DockerfileChecks.Stages(Dockerfile).SelectMany(s => s), i => i.Keyword == "COPY" && i.Arguments == "src/ src/");
        var ignored = File.ReadAllLines(Path.Combine(Manifests.RepositoryRoot, ".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.DoesNotContain(ignored, l => l.TrimEnd('/') is "src" or "*" or "**" || l.StartsWith("Directory", StringComparison.Ordinal));
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
    }
}
