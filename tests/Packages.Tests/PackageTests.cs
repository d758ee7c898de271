using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;

namespace OrleansShards.Packages.Tests;

/// <summary>
/// The NuGet packages as a user gets them: packed into a folder feed, restored by a project outside the solution
/// that references only the packages, and run against a real silo; the <c>shards</c> tool installed from the feed.
/// </summary>
public sealed class PackageTests(PackageFeedFixture fixture) : IClassFixture<PackageFeedFixture>
{
    // What the HTTP client must not drag into an app: the readers' file-format, cloud and database libraries.
    // Apache.Arrow is not among them: the client reads Arrow answers (run batches with format=arrow) itself.
    private static readonly string[] ReaderLibraries = ["AWSSDK", "Azure.", "Npgsql", "Parquet", "CsvHelper", "Google.Protobuf", "Microsoft.Data.Sqlite", "StackExchange.Redis"];

    private static readonly XNamespace Nuspec = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd";

    private string Package(string id) => Path.Combine(fixture.Feed, $"{id}.{fixture.Version}.nupkg");

    [Fact]
    public void Every_package_has_one_version_a_licence_a_repository_a_readme_and_symbols()
    {
        foreach (var id in PackageFeedFixture.Packages.Keys)
        {
            Assert.True(File.Exists(Package(id)), $"{Package(id)} was not packed");
            var metadata = PackageFeedFixture.Nuspec(Package(id)).Root!.Elements().First(e => e.Name.LocalName == "metadata");
            string? Value(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal(id, Value("id"));
            Assert.Equal(fixture.Version, Value("version"));
            Assert.Equal("MIT", Value("license"));
            Assert.Equal("README.md", Value("readme"));
            Assert.False(string.IsNullOrWhiteSpace(Value("description")), $"{id} has no description");
            Assert.StartsWith("https://github.com/", metadata.Elements().First(e => e.Name.LocalName == "repository").Attribute("url")!.Value, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.ChangeExtension(Package(id), ".snupkg")), $"{id} has no symbol package");
        }
    }

    [Fact]
    public void The_client_package_depends_on_contracts_only()
    {
        // Every package id the client brings in, following our own packages in the feed.
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var queue = new Queue<string>(["OrleansShards.Client"]);
        while (queue.TryDequeue(out var id))
        {
            if (!seen.Add(id) || !id.StartsWith("OrleansShards.", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var dependency in PackageFeedFixture.Nuspec(Package(id)).Descendants().Where(e => e.Name.LocalName == "dependency"))
            {
                queue.Enqueue(dependency.Attribute("id")!.Value);
            }
        }

        Assert.Contains("OrleansShards.GrainInterfaces", seen);
        Assert.Contains("Microsoft.Orleans.Client", seen);
        Assert.DoesNotContain(seen, id => id.StartsWith("OrleansShards.Readers", StringComparison.Ordinal) || id == "OrleansShards.Providers");
        Assert.DoesNotContain(seen, id => ReaderLibraries.Any(library => id.StartsWith(library, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task A_consumer_outside_the_solution_joins_the_silo_follows_a_stream_and_consumes_a_job_over_http()
    {
        var cancellation = TestContext.Current.CancellationToken;
        var topic = "packaged-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.Client.CreateTopicAsync(topic, 1, cancellation);
        var records = Enumerable.Range(0, 30).Select(i => JsonSerializer.SerializeToElement(new { n = i }));
        await fixture.Client.AppendAsync(topic, 0, records, cancellation);
        var job = "packaged-" + Guid.NewGuid().ToString("N")[..8];
        using (var created = await fixture.Http.PostAsJsonAsync("v1/jobs", new { id = job, source = new { kind = "csv", paths = new[] { "rows.csv" } }, shardSize = 500, epochs = 1 }, cancellation))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync(cancellation));
        }

        var project = Path.Combine(fixture.Outside, "consumer");
        Directory.CreateDirectory(project);
        WriteNuGetConfig(project);
        await File.WriteAllTextAsync(Path.Combine(project, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <!-- Our packages land in a private folder (never in the machine's cache); the rest comes from that cache. -->
                <RestorePackagesPath>{Path.Combine(fixture.Outside, "packages")}</RestorePackagesPath>
                <RestoreAdditionalProjectFallbackFolders>{GlobalPackages()}</RestoreAdditionalProjectFallbackFolders>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="OrleansShards.Client" Version="{fixture.Version}" />
                <PackageReference Include="OrleansShards.Providers" Version="{fixture.Version}" />
              </ItemGroup>
            </Project>
            """, cancellation);
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), ConsumerProgram, cancellation);

        var (built, buildOutput) = await PackageFeedFixture.RunAsync("dotnet", project, TimeSpan.FromMinutes(8), "build", "-nologo", "-v", "q");
        Assert.True(built == 0, $"the consumer did not build:\n{buildOutput}");
        var assets = await File.ReadAllTextAsync(Path.Combine(project, "obj", "project.assets.json"), cancellation);
        Assert.DoesNotContain("\"type\": \"project\"", assets, StringComparison.Ordinal);
        Assert.Contains($"OrleansShards.Client/{fixture.Version}", assets, StringComparison.Ordinal);

        var (exit, output) = await PackageFeedFixture.RunAsync(
            "dotnet", project, TimeSpan.FromMinutes(3), "run", "--no-build", "--",
            $"127.0.0.1:{fixture.GatewayPort}", fixture.Address.ToString(), topic, "12", "18", job);
        Assert.True(exit == 0, $"the consumer exited {exit}:\n{output}");
        Assert.Contains("stream: " + string.Join(',', Enumerable.Range(12, 18)), output, StringComparison.Ordinal);
        Assert.Contains($"job: 6 tasks, {PackageFeedFixture.Rows} records, {PackageFeedFixture.Rows} distinct ids, state completed", output, StringComparison.Ordinal);
        var status = await fixture.Client.GetJobAsync(job, cancellation);
        Assert.Equal("completed", status.State);
        Assert.Equal(PackageFeedFixture.Rows, status.Records.Delivered);
    }

    [Fact]
    public async Task The_shards_tool_installs_from_the_feed_and_talks_to_the_silo()
    {
        var cancellation = TestContext.Current.CancellationToken;
        var directory = Path.Combine(fixture.Outside, "tool");
        Directory.CreateDirectory(directory);
        WriteNuGetConfig(directory);
        var tools = Path.Combine(directory, "bin");
        var (installed, installOutput) = await PackageFeedFixture.RunAsync(
            "dotnet", directory, TimeSpan.FromMinutes(5), "tool", "install", "--tool-path", tools, "--add-source", fixture.Feed, "OrleansShards.Cli", "--version", fixture.Version);
        Assert.True(installed == 0, $"dotnet tool install exited {installed}:\n{installOutput}");

        var shards = Path.Combine(tools, "shards");
        var (helped, help) = await PackageFeedFixture.RunAsync(shards, directory, TimeSpan.FromMinutes(1), "--help");
        Assert.True(helped == 0, help);
        Assert.Contains("serve", help, StringComparison.Ordinal);

        var job = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var spec = Path.Combine(directory, "job.json");
        await File.WriteAllTextAsync(spec, $$"""{"id":"{{job}}","source":{"kind":"csv","paths":["rows.csv"]},"shardSize":1000,"epochs":1}""", cancellation);
        var (created, createOutput) = await PackageFeedFixture.RunAsync(shards, directory, TimeSpan.FromMinutes(1), "job", "create", "-f", spec, "--server", fixture.Address.ToString(), "--json");
        Assert.True(created == 0, createOutput);
        var status = await fixture.Client.GetJobAsync(job, cancellation);
        Assert.Equal(3, status.Shards.Total);
        var (listed, statusOutput) = await PackageFeedFixture.RunAsync(shards, directory, TimeSpan.FromMinutes(1), "job", "status", job, "--server", fixture.Address.ToString(), "--json");
        Assert.True(listed == 0, statusOutput);
        using var printed = JsonDocument.Parse(statusOutput);
        Assert.Equal(job, printed.RootElement.GetProperty("id").GetString());
    }

    private void WriteNuGetConfig(string directory) => File.WriteAllText(Path.Combine(directory, "NuGet.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="feed" value="{fixture.Feed}" />
            <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
          </packageSources>
        </configuration>
        """);

    private static string GlobalPackages() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    // The consumer: an Orleans client app and an HTTP worker, written against the packages only.
    private const string ConsumerProgram = """
        using Orleans.Streams;
        using OrleansShards.Client;
        using OrleansShards.Providers.Streams;

        var (gateway, server, topic, from, count, job) = (args[0], new Uri(args[1]), args[2], long.Parse(args[3]), int.Parse(args[4]), args[5]);

        // An Orleans client app: joins the silo through its gateway and follows a topic's stream from an offset.
        await using (var connection = await ShardsOrleansClient.ConnectAsync(
            new ShardsClusterOptions { Gateways = [gateway] }, default, client => client.AddShardsLogStreams("shards-log")))
        {
            var stream = connection.Client.GetStreamProvider("shards-log").GetStream<LogStreamRecord>(LogStreamIds.For(topic, 0));
            var offsets = new List<long>();
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var handle = await stream.SubscribeAsync(
                (record, _) =>
                {
                    lock (offsets)
                    {
                        offsets.Add(record.Offset);
                        if (offsets.Count == count)
                        {
                            enough.TrySetResult();
                        }
                    }

                    return Task.CompletedTask;
                },
                new LogSequenceToken(from));
            await enough.Task.WaitAsync(TimeSpan.FromSeconds(90));
            await handle.UnsubscribeAsync();
            lock (offsets)
            {
                Console.WriteLine("stream: " + string.Join(',', offsets.Take(count)));
            }
        }

        // An HTTP worker: the client package's task stream leases, reads, reports and renews.
        using var http = new HttpClient { BaseAddress = server };
        var shards = new ShardsClient(http);
        var records = 0L;
        var ids = new HashSet<string>();
        var summary = await shards.ProcessAsync(job, async (task, cancellationToken) =>
        {
            await foreach (var page in task.ReadBatchesAsync(cancellationToken))
            {
                using (page)
                {
                    foreach (var record in page.Records.EnumerateArray())
                    {
                        records++;
                        ids.Add(record.GetProperty("id").GetString()!);
                    }
                }
            }
        });
        Console.WriteLine($"job: {summary.Done} tasks, {records} records, {ids.Count} distinct ids, state {summary.JobState}");
        """;
}
