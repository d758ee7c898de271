using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansShards.Tests.Servers;
using static OrleansShards.Cli.Tests.ShardsProcess;

namespace OrleansShards.Cli.Tests;

/// <summary><c>shards serve</c> as a process of its own, and the bearer token on the wire.</summary>
public sealed class ServeAndTokenTests
{
    /// <summary>
    /// A process started as a background job of a non-interactive shell ignores SIGINT, and its children inherit that
    /// (as Unix means for background jobs): <c>shards serve</c> then cannot be stopped with Ctrl+C, and this test would
    /// wait for nothing. It says so instead: a skip on a developer machine, a failure under CI.
    /// </summary>
    internal static void RequireSigintDelivered()
    {
        var ignored = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)) is { } line
            && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0;
        if (!ignored)
        {
            return;
        }

        const string Problem = "SIGINT is ignored in this test process (it was started as a background job of a non-interactive shell), so no child can be stopped with Ctrl+C; run the tests from a terminal or a job-controlled shell";
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(Problem);
        }

        Assert.Skip(Problem);
    }

    [Fact]
    public async Task Serve_runs_a_silo_that_the_other_commands_use_and_stops_on_sigint()
    {
        RequireSigintDelivered();
        var root = Path.Combine(Path.GetTempPath(), "shards-serve-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "rows.csv"), "id,x\n1,a\n2,b\n3,c\n");
        var address = new Uri($"http://127.0.0.1:{ServerFixture.FreePort()}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            CliPath, "serve", "--server", address.ToString(), "--data-dir", root,
            $"--Shards:SiloPort={ServerFixture.FreePort()}", $"--Shards:GatewayPort={ServerFixture.FreePort()}",
        })
        {
            start.ArgumentList.Add(arg);
        }

        using var serve = Process.Start(start)!;
        var stderr = serve.StandardError.ReadToEndAsync();
        var stdout = serve.StandardOutput.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = address };
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(serve.HasExited, $"shards serve exited early: {(serve.HasExited ? await stderr : "")}");
                try
                {
                    if ((await http.GetAsync("readyz")).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                Assert.True(deadline.Elapsed < ShardsProcess.Timeout, "shards serve did not become ready");
                await Task.Delay(200);
            }

            var created = await Shards(address, "job", "create", "-f", WriteSpec(root));
            Assert.True(created.ExitCode == 0, created.ToString());
            var worked = await Shards(address, "worker", "run", "--job", "served", "--", "sh", "-c", "cat > /dev/null");
            Assert.True(worked.ExitCode == 0, worked.ToString());
            var watched = await Shards(address, "job", "watch", "served");
            Assert.Equal(0, watched.ExitCode);
            Assert.EndsWith("job served: completed, 3 records delivered", watched.Stdout.Trim());

            // Ctrl+C: the silo shuts down cleanly and the tool exits 0.
            using (var kill = Process.Start("kill", ["-INT", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var stop = new CancellationTokenSource(ShardsProcess.Timeout);
            await serve.WaitForExitAsync(stop.Token);
            Assert.True(serve.ExitCode == 0, $"exit {serve.ExitCode}: {await stderr}");
            Assert.Contains($"serving on {address.ToString().TrimEnd('/')}", await stderr);
            _ = await stdout;
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill(entireProcessTree: true);
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string WriteSpec(string root)
    {
        var path = Path.Combine(root, "served.yaml");
        File.WriteAllText(path, "id: served\nsource: {kind: csv, paths: [rows.csv]}\nshardSize: 2\n");
        return path;
    }

    [Fact]
    public async Task The_token_goes_out_as_a_bearer_header_and_a_401_is_one_line()
    {
        // A bare HTTP server on a socket: it notes the request and refuses it as the API does without a valid token.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var request = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                head.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            const string body = """{"title":"Unauthorized","status":401,"detail":"the bearer token is not valid"}""";
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
            return head.ToString();
        });

        var result = await Run("dotnet", [CliPath, "--server", $"http://127.0.0.1:{port}", "job", "list"], new Dictionary<string, string?> { ["SHARDS_TOKEN"] = "s3cret-token", ["SHARDS_SERVER"] = null });
        var line = AssertOneLineError(result);
        Assert.Equal("error: the bearer token is not valid (HTTP 401)", line);
        var head = await request;
        Assert.StartsWith("GET /v1/jobs HTTP/1.1", head);
        Assert.Contains("Authorization: Bearer s3cret-token\r\n", head);
    }
}
