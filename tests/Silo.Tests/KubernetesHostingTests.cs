using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Hosting.Kubernetes;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// Shards:Kubernetes:Enabled runs Orleans' Kubernetes cluster agent in the silo. No Kubernetes API
/// server runs here, so a loopback HTTP server answers the agent's pod requests and records them:
/// what the agent really asks for must be what deploy/k8s/rbac.yaml grants.
/// </summary>
public sealed class KubernetesHostingTests
{
    private const string Namespace = "shards-test";
    private const string PodName = "orleans-shards-silo-7d9f-abcde";

    [Fact]
    public void Kubernetes_hosting_with_localhost_clustering_is_refused_with_the_reason()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ShardsServer.Build(["--Shards:Kubernetes:Enabled=true", $"--Shards:DataDir={Path.GetTempPath()}"]));

        Assert.Contains("Shards:Kubernetes:Enabled", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shards:Clustering is 'localhost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agent_calls_only_what_the_role_grants_and_names_the_silo_after_the_pod()
    {
        using var redis = await RedisProcess.StartAsync();
        if (redis is null)
        {
            return;
        }

        await using var api = await PodApi.StartAsync();
        var root = Path.Combine(Path.GetTempPath(), "shards-k8s-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        // Kubernetes hosting reads these from the environment (the downward API in a pod); nothing else in this process does.
        Environment.SetEnvironmentVariable(KubernetesHostingOptions.PodNameEnvironmentVariable, PodName);
        Environment.SetEnvironmentVariable(KubernetesHostingOptions.PodNamespaceEnvironmentVariable, Namespace);
        var app = ShardsServer.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--Shards:DataDir={root}",
                "--Shards:Clustering=redis",
                $"--Shards:RedisConnection={redis.Connection}",
                $"--Shards:ClusterId=k8s-{Guid.NewGuid():N}",
                "--Shards:ServiceId=shards-k8s-test",
                $"--Shards:SiloPort={FreePort()}",
                $"--Shards:GatewayPort={FreePort()}",
                "--Shards:Kubernetes:Enabled=true",
                "--Shards:Kubernetes:DeleteDefunctSiloPods=true",
                // Explicit files: under a multi-silo clustering the per-silo defaults under the data directory are refused.
                $"--Shards:SqliteFile={Path.Combine(root, "state.db")}",
                $"--Shards:LogStore:File={Path.Combine(root, "log.db")}",
            ],
            builder =>
            {
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                builder.Services.Configure<KubernetesHostingOptions>(o => o.GetClientConfiguration = () => new KubernetesClientConfiguration { Host = api.Address });
            });
        try
        {
            await app.StartAsync();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!new[] { "get", "patch", "watch" }.All(api.Verbs.Contains))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the agent made only these calls: {string.Join(", ", api.Requests)}");
                await Task.Delay(100);
            }

            var silo = app.Services.GetRequiredService<ILocalSiloDetails>();
            Assert.Equal(PodName, silo.Name);
            Assert.Contains(api.Patches, p => p.Contains("\"orleans/serviceId\": \"shards-k8s-test\"", StringComparison.Ordinal));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Environment.SetEnvironmentVariable(KubernetesHostingOptions.PodNameEnvironmentVariable, null);
            Environment.SetEnvironmentVariable(KubernetesHostingOptions.PodNamespaceEnvironmentVariable, null);
            Directory.Delete(root, recursive: true);
        }

        var rbac = KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "k8s", "rbac.yaml")));
        var granted = rbac.OfType<V1Role>().Single().Rules.Where(r => r.Resources.Contains("pods")).SelectMany(r => r.Verbs).ToHashSet();
        Assert.All(api.Requests, r => Assert.StartsWith($"/api/v1/namespaces/{Namespace}/pods", r.Path, StringComparison.Ordinal));
        Assert.All(api.Verbs, verb => Assert.Contains(verb, granted));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansShards.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no OrleansShards.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Answers the pod requests of the Kubernetes API that the agent makes, and records each with its RBAC verb.</summary>
    private sealed class PodApi : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private PodApi(WebApplication app) => _app = app;

        public string Address => _app.Urls.First();

        public ConcurrentQueue<(string Verb, string Path)> Requests { get; } = new();

        public ConcurrentQueue<string> Patches { get; } = new();

        public IReadOnlySet<string> Verbs => Requests.Select(r => r.Verb).ToHashSet();

        public static async Task<PodApi> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var app = builder.Build();
            var api = new PodApi(app);
            app.Run(api.Answer);
            await app.StartAsync();
            return api;
        }

        private async Task Answer(HttpContext context)
        {
            var path = context.Request.Path.Value ?? "";
            var collection = path.EndsWith("/pods", StringComparison.Ordinal);
            var verb = (context.Request.Method, collection) switch
            {
                ("GET", true) => context.Request.Query["watch"] == "true" ? "watch" : "list",
                ("GET", false) => "get",
                ("PATCH", false) => "patch",
                ("DELETE", false) => "delete",
                var (method, _) => $"unexpected {method}",
            };
            Requests.Enqueue((verb, path));
            if (verb == "patch")
            {
                using var reader = new StreamReader(context.Request.Body);
                Patches.Enqueue(await reader.ReadToEndAsync());
            }

            context.Response.ContentType = "application/json";
            switch (verb)
            {
                case "watch":
                    // No pod event: keep the watch open until the agent stops.
                    await context.Response.StartAsync();
                    await context.Response.Body.FlushAsync();
                    try
                    {
                        await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    break;
                case "list":
                    await context.Response.WriteAsync($$"""{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[{{Pod()}}]}""");
                    break;
                case "get" or "patch" or "delete":
                    await context.Response.WriteAsync(Pod());
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        }

        // The pod as the Deployment made it, without the labels the agent adds: so it patches them.
        private static string Pod() => $$$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{{PodName}}}}","namespace":"{{{{Namespace}}}}","labels":{"app.kubernetes.io/name":"orleans-shards"}}}""";

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>redis-server on a free loopback port without persistence; null (the test skipped, failed under CI) when it is not installed.</summary>
    private sealed class RedisProcess : IDisposable
    {
        private readonly Process _process;

        private RedisProcess(Process process, int port)
        {
            _process = process;
            Connection = $"127.0.0.1:{port}";
        }

        public string Connection { get; }

        public static async Task<RedisProcess?> StartAsync()
        {
            var program = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
            if (program is null)
            {
                const string problem = "redis-server is not installed (apt-get install -y redis-server)";
                if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
                {
                    Assert.Fail($"{problem} (CI is set, so this is a failure, not a skip)");
                }

                Assert.Skip(problem);
            }

            var port = FreePort();
            var process = Process.Start(new ProcessStartInfo(program, ["--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            }) ?? throw new InvalidOperationException("redis-server did not start");
            process.OutputDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var socket = new TcpClient();
                    await socket.ConnectAsync(IPAddress.Loopback, port);
                    return new RedisProcess(process, port);
                }
                catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20) && !process.HasExited)
                {
                    await Task.Delay(20);
                }
            }
        }

        public void Dispose()
        {
            _process.Kill();
            _process.WaitForExit();
            _process.Dispose();
        }
    }
}
