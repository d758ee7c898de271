using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using OrleansShards.Silo.Hosting;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// A PostgreSQL table source through the real server and its HTTP API, with the operator's connection in
/// configuration and its password as an <c>env:</c> reference: the password is in no answer, log line, checkpoint
/// or byte of grain state.
/// </summary>
public sealed class SqlHttpTests(PostgresServer server)
{
    private const string PasswordVariable = "SHARDS_TEST_PG_PASSWORD";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task A_postgres_job_over_http_never_shows_the_password_anywhere()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var database = await server.CreateDatabaseAsync("http");
        await server.ExecuteAsync(database, """
            CREATE TABLE events (id bigint PRIMARY KEY, payload text, raw bytea, seen timestamptz);
            INSERT INTO events SELECT g, 'event ' || g, convert_to('raw ' || g, 'UTF8'), timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'
              FROM generate_series(0, 4999) g;
            """);
        Environment.SetEnvironmentVariable(PasswordVariable, server.Password);
        var root = Path.Combine(Path.GetTempPath(), "shards-sqlhttp-" + Guid.NewGuid().ToString("N")[..8]);
        var dataDir = Path.Combine(root, "data");
        Directory.CreateDirectory(dataDir);
        var logs = new CapturedLogs();
        var answers = new StringBuilder();
        var app = ShardsServer.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--Shards:DataDir={dataDir}",
                $"--Shards:SiloPort={FreePort()}",
                $"--Shards:GatewayPort={FreePort()}",
                "--Shards:Connections:warehouse:Kind=postgres",
                $"--Shards:Connections:warehouse:ConnectionString={server.ConnectionStringWithoutPassword(database)}",
                $"--Shards:Connections:warehouse:Secret=env:{PasswordVariable}",
            ],
            builder =>
            {
                builder.Logging.SetMinimumLevel(LogLevel.Trace);
                // Every level of every category, Orleans' and ASP.NET Core's too (quiet by default), so a leaked secret shows.
                builder.Logging.AddFilter<CapturedLogs>(null, LogLevel.Trace);
                builder.Logging.AddProvider(logs);
            });
        try
        {
            await app.StartAsync(ct);
            using var http = new HttpClient { BaseAddress = app.ListeningAddress() };

            async Task<(HttpStatusCode Status, string Body)> Send(HttpMethod method, string path, string? body = null)
            {
                using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Json(body) };
                using var response = await http.SendAsync(request, ct);
                var bytes = await response.Content.ReadAsByteArrayAsync(ct);
                answers.Append((int)response.StatusCode).Append(' ').Append(response.Headers).Append(response.Content.Headers)
                    .Append(Encoding.UTF8.GetString(bytes)).Append('\n');
                return (response.StatusCode, Encoding.UTF8.GetString(bytes));
            }

            var created = await Send(HttpMethod.Post, "v1/jobs", """
                {"id":"pg-http","source":{"kind":"postgres","connection":"warehouse","table":"events","keyColumn":"id"},"shardSize":1000,"epochs":1,"shuffle":true,"seed":4}
                """);
            Assert.Equal(HttpStatusCode.Created, created.Status);
            Assert.Contains("postgres://warehouse/events#id", created.Body, StringComparison.Ordinal);

            var seen = new HashSet<long>();
            while (true)
            {
                var leased = await Send(HttpMethod.Post, "v1/jobs/pg-http/leases", """{"workerId":"w","maxTasks":2}""");
                using var leases = JsonDocument.Parse(leased.Body);
                var list = leases.RootElement.GetProperty("leases");
                if (list.GetArrayLength() == 0)
                {
                    if (leases.RootElement.GetProperty("state").GetString() == "completed")
                    {
                        break;
                    }

                    await Task.Delay(50, ct);
                    continue;
                }

                foreach (var lease in list.EnumerateArray())
                {
                    var task = lease.GetProperty("taskId").GetString();
                    var page = await Send(HttpMethod.Get, $"v1/jobs/pg-http/tasks/{task}/records");
                    Assert.Equal(HttpStatusCode.OK, page.Status);
                    using var records = JsonDocument.Parse(page.Body);
                    foreach (var record in records.RootElement.GetProperty("records").EnumerateArray())
                    {
                        Assert.True(seen.Add(record.GetProperty("id").GetInt64()));
                    }

                    await Send(HttpMethod.Get, $"v1/jobs/pg-http/tasks/{task}/records?columns=id,raw&limit=3&format=arrow");
                    await Send(HttpMethod.Post, "v1/jobs/pg-http/reports", $$"""{"taskId":"{{task}}","leaseId":"{{lease.GetProperty("leaseId").GetString()}}","workerId":"w","outcome":"done"}""");
                }
            }

            Assert.Equal(5_000, seen.Count);
            var first = await Send(HttpMethod.Get, "v1/jobs/pg-http/tasks/e0.p0.0-1000/records?columns=id,seen,raw&limit=1");
            Assert.Equal(HttpStatusCode.OK, first.Status);
            using (var one = JsonDocument.Parse(first.Body))
            {
                var record = Assert.Single(one.RootElement.GetProperty("records").EnumerateArray());
                var id = record.GetProperty("id").GetInt64();
                Assert.Equal(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(id), record.GetProperty("seen").GetDateTime());
                Assert.Equal($"raw {id}", Encoding.UTF8.GetString(record.GetProperty("raw").GetBytesFromBase64()));
            }

            var status = await Send(HttpMethod.Get, "v1/jobs/pg-http");
            Assert.Contains("\"completed\"", status.Body, StringComparison.Ordinal);
            await Send(HttpMethod.Get, "v1/jobs");
            var checkpoint = await Send(HttpMethod.Get, "v1/jobs/pg-http/checkpoint");
            Assert.Equal(HttpStatusCode.OK, checkpoint.Status);
            Assert.Contains("postgres://warehouse/events#id", checkpoint.Body, StringComparison.Ordinal);

            // Errors: a column that does not exist, an unknown connection, a smuggled connection string, a missing table.
            var column = await Send(HttpMethod.Get, "v1/jobs/pg-http/tasks/e0.p0.0-1000/records?columns=id,nope");
            Assert.Equal(HttpStatusCode.BadRequest, column.Status);
            Assert.Contains("nope", column.Body, StringComparison.Ordinal);
            var unknown = await Send(HttpMethod.Post, "v1/jobs", """{"id":"bad1","source":{"kind":"postgres","connection":"elsewhere","table":"events","keyColumn":"id"}}""");
            Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
            Assert.Contains("\"field\":\"source.connection\"", unknown.Body, StringComparison.Ordinal);
            var smuggled = await Send(HttpMethod.Post, "v1/jobs", """{"id":"bad2","source":{"kind":"postgres","connection":"Host=evil;Password=x","table":"events","keyColumn":"id"}}""");
            Assert.Equal(HttpStatusCode.BadRequest, smuggled.Status);
            Assert.Contains("\"field\":\"source.connection\"", smuggled.Body, StringComparison.Ordinal);
            var field = await Send(HttpMethod.Post, "v1/jobs", """{"id":"bad3","source":{"kind":"postgres","connection":"warehouse","connectionString":"Host=evil","table":"events","keyColumn":"id"}}""");
            Assert.Equal(HttpStatusCode.BadRequest, field.Status);
            var table = await Send(HttpMethod.Post, "v1/jobs", """{"id":"bad4","source":{"kind":"postgres","connection":"warehouse","table":"nothere","keyColumn":"id"}}""");
            Assert.Equal(HttpStatusCode.BadRequest, table.Status);
            Assert.Contains("\"field\":\"source.table\"", table.Body, StringComparison.Ordinal);
            Assert.Contains("no table 'nothere'", table.Body, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            SqliteConnection.ClearAllPools();
        }

        try
        {
            var everything = answers.ToString();
            Assert.Contains("event 42", everything, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Password, everything, StringComparison.Ordinal);
            Assert.True(logs.Count > 100, $"only {logs.Count} log entries were captured");
            Assert.DoesNotContain(server.Password, logs.Text(), StringComparison.Ordinal);
            var stateFiles = Directory.GetFiles(Path.Combine(dataDir, "state"));
            Assert.NotEmpty(stateFiles);
            foreach (var file in stateFiles)
            {
                var bytes = await File.ReadAllBytesAsync(file, ct);
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(server.Password)));
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(server.Password)));
            }
        }
        finally
        {
            await server.ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
