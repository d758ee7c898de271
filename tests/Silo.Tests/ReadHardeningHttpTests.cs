using System.Net;
using System.Text;
using System.Text.Json;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>The real server with a data directory and a secret file beside it (outside the roots).</summary>
public sealed class ReadHardeningServerFixture : InProcessServer
{
    public ReadHardeningServerFixture()
        : base("hardening")
    {
    }

    /// <summary>The byte budget of a topic page here: 4 MiB.</summary>
    public const long TopicPageBytes = 4L << 20;

    protected override IEnumerable<string> Settings => [$"--Shards:Reads:TopicPageMaxBytes={TopicPageBytes}"];

    /// <summary>A file outside the data roots.</summary>
    public string Secret => Path.Combine(Root, "secret.jsonl");

    protected override Task PrepareAsync()
    {
        System.IO.File.WriteAllText(Path.Combine(DataDir, "swap.jsonl"), "{\"v\":\"public-1\"}\n{\"v\":\"public-2\"}\n");
        System.IO.File.WriteAllText(Secret, "{\"v\":\"SECRET-1\"}\n{\"v\":\"SECRET-2\"}\n");
        System.IO.File.WriteAllText(Path.Combine(DataDir, "ok.jsonl"), "{\"v\":1}\n");
        return Task.CompletedTask;
    }
}

/// <summary>
/// Attacks on reads through HTTP (issue 16): files outside the data roots, hostile globs, schemaless Arrow answers,
/// large topic records. Each answers a 4xx naming the field (or holds its bound), and the server stays up.
/// </summary>
public sealed class ReadHardeningHttpTests(ReadHardeningServerFixture server) : IClassFixture<ReadHardeningServerFixture>
{
    private HttpClient Http => server.Http;

    private async Task<(HttpStatusCode Status, JsonElement Body)> CreateJob(string id, string source, int shardSize = 10)
    {
        using var response = await Http.PostAsync("v1/jobs", new StringContent(
            $$"""{"id":"{{id}}","source":{{source}},"shardSize":{{shardSize}}}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task AssertServerUp()
    {
        var (status, _) = await CreateJob("alive-" + Guid.NewGuid().ToString("N")[..6], """{"kind":"jsonl","paths":["ok.jsonl"]}""");
        Assert.Equal(HttpStatusCode.Created, status);
    }

    [Fact]
    public async Task A_link_swapped_in_with_the_same_length_and_time_is_refused_not_served()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal(HttpStatusCode.Created, (await CreateJob("swap", """{"kind":"jsonl","paths":["swap.jsonl"]}""")).Status);
        const string records = "v1/jobs/swap/tasks/e0.p0.0-2/records";
        Assert.Contains("public-1", await Http.GetStringAsync(records, ct));

        // The attacker's file: the same length and modification time as the pinned one, then linked in its place.
        var pinned = Path.Combine(server.DataDir, "swap.jsonl");
        Assert.Equal(new FileInfo(pinned).Length, new FileInfo(server.Secret).Length);
        File.SetLastWriteTimeUtc(server.Secret, File.GetLastWriteTimeUtc(pinned));
        File.Delete(pinned);
        File.CreateSymbolicLink(pinned, server.Secret);

        using var response = await Http.GetAsync(records, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.DoesNotContain("SECRET", text, StringComparison.Ordinal);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("taskId", body.GetProperty("field").GetString());
        Assert.Contains(server.Secret, body.GetProperty("detail").GetString());
        Assert.Contains("outside the data roots", body.GetProperty("detail").GetString());
        await AssertServerUp();
    }

    [Theory]
    [InlineData("""{"kind":"jsonl","paths":["ok\u0000.jsonl"]}""", "source.paths")]
    [InlineData("""{"kind":"jsonl","paths":["**/\u0000*"]}""", "source.paths")]
    [InlineData("""{"kind":"sqlite","path":"db\u0000.sqlite","table":"t","keyColumn":"id"}""", "source.path")]
    public async Task Nul_in_a_path_is_a_400_naming_the_field(string source, string field)
    {
        var (status, body) = await CreateJob("nul-" + Guid.NewGuid().ToString("N")[..6], source);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, body.GetProperty("field").GetString());
        Assert.Contains("NUL", body.GetProperty("detail").GetString());
        await AssertServerUp();
    }

    [Fact]
    public async Task A_hostile_glob_and_a_link_loop_are_a_prompt_400()
    {
        // A tree of 9 levels, 2 directories each for the first 5, under a 121-byte pattern of 36 "**".
        var level = new List<string> { Path.Combine(server.DataDir, "tree") };
        for (var depth = 0; depth < 9; depth++)
        {
            level = [.. level.SelectMany(d => Enumerable.Range(0, depth < 5 ? 2 : 1).Select(i => Path.Combine(d, $"d{i}")))];
            level.ForEach(d => Directory.CreateDirectory(d));
        }

        var hostile = "tree/" + string.Join("/", Enumerable.Repeat("**", 36)) + "/x*.jsonl";
        var (status, body) = await CreateJob("glob", $$"""{"kind":"jsonl","paths":["{{hostile}}"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status); // one walk of 126 directories, then "matches no file"
        Assert.Equal("source.paths", body.GetProperty("field").GetString());
        Assert.Contains("matches no file", body.GetProperty("detail").GetString());

        Directory.CreateSymbolicLink(Path.Combine(server.DataDir, "tree", "loop"), Path.Combine(server.DataDir, "tree"));
        File.CreateSymbolicLink(Path.Combine(server.DataDir, "tree", "self.jsonl"), Path.Combine(server.DataDir, "tree", "self.jsonl"));
        (status, body) = await CreateJob("loop", """{"kind":"jsonl","paths":["tree/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*.jsonl"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("source.paths", body.GetProperty("field").GetString());
        Assert.Contains("GlobMaxDepth", body.GetProperty("detail").GetString());
        (status, body) = await CreateJob("self", """{"kind":"jsonl","paths":["tree/**/*.jsonl"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("self.jsonl", body.GetProperty("detail").GetString());
        await AssertServerUp();
    }

    [Fact]
    public async Task The_state_directory_is_never_a_source()
    {
        var (status, body) = await CreateJob("state", """{"kind":"sqlite","path":"state/shards.db","table":"OrleansStorage","keyColumn":"GrainIdHash"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("source.path", body.GetProperty("field").GetString());
        Assert.Contains("server's own state", body.GetProperty("detail").GetString());
        (status, _) = await CreateJob("state-glob", """{"kind":"csv","paths":["state/*"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        await AssertServerUp();
    }

    [Fact]
    public async Task Schemaless_arrow_answers_are_bounded_by_columns_and_bytes_not_rows_times_keys()
    {
        var ct = TestContext.Current.CancellationToken;

        // 10,000 records of 22 properties: every record its own keys (220,000 distinct), and all records the same 22.
        var distinct = new StringBuilder();
        var shared = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            distinct.Append('{').AppendJoin(',', Enumerable.Range(0, 22).Select(k => $"\"k{i}_{k}\":{k}")).Append("}\n");
            shared.Append('{').AppendJoin(',', Enumerable.Range(0, 22).Select(k => $"\"k{k}\":{(k % 2 == 0 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"\"v{i}\"")}")).Append("}\n");
        }

        await System.IO.File.WriteAllTextAsync(Path.Combine(server.DataDir, "distinct.jsonl"), distinct.ToString(), ct);
        await System.IO.File.WriteAllTextAsync(Path.Combine(server.DataDir, "shared.jsonl"), shared.ToString(), ct);
        Assert.Equal(HttpStatusCode.Created, (await CreateJob("distinct", """{"kind":"jsonl","paths":["distinct.jsonl"]}""", 10_000)).Status);
        Assert.Equal(HttpStatusCode.Created, (await CreateJob("shared", """{"kind":"jsonl","paths":["shared.jsonl"]}""", 10_000)).Status);

        using var peak = PeakRss.Start();
        using (var response = await Http.GetAsync("v1/jobs/distinct/tasks/e0.p0.0-10000/records?format=arrow&limit=10000", ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.Equal("columns", body.GetProperty("field").GetString());
            Assert.Contains("ArrowMaxColumns", body.GetProperty("detail").GetString());
            Assert.Contains("columns=", body.GetProperty("detail").GetString());
        }

        // Named columns make the same records an answer.
        using (var response = await Http.GetAsync("v1/jobs/distinct/tasks/e0.p0.0-10000/records?format=arrow&limit=10000&columns=k0_0,k9999_21", ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new Apache.Arrow.Ipc.ArrowStreamReader(await response.Content.ReadAsStreamAsync(ct));
            using var batch = await reader.ReadNextRecordBatchAsync(ct);
            Assert.Equal(10_000, batch.Length);
            Assert.Equal(9_999, batch.Column("k0_0").NullCount);
        }

        using (var response = await Http.GetAsync("v1/jobs/shared/tasks/e0.p0.0-10000/records?format=arrow&limit=10000", ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new Apache.Arrow.Ipc.ArrowStreamReader(await response.Content.ReadAsStreamAsync(ct));
            using var batch = await reader.ReadNextRecordBatchAsync(ct);
            Assert.Equal(10_000, batch.Length);
            Assert.Equal(22, batch.ColumnCount);
            Assert.Equal("v9999", ((Apache.Arrow.StringArray)batch.Column("k1")).GetString(9_999));
        }

        var growth = peak.GrowthBytes();
        Assert.True(growth < 300L << 20, $"peak RSS grew by {growth >> 20} MB");
        await AssertServerUp();
    }

    [Fact]
    public async Task Topic_pages_stop_at_their_byte_budget_and_slow_followers_hold_bounded_memory()
    {
        var ct = TestContext.Current.CancellationToken;
        const int records = 30;
        const int valueBytes = 2 << 20;
        using (var create = await Http.PostAsync("v1/topics", new StringContent("""{"name":"big","partitions":1}""", Encoding.UTF8, "application/json"), ct))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }

        var filler = new string('x', valueBytes);
        for (var batch = 0; batch < records / 5; batch++)
        {
            var body = "[" + string.Join(',', Enumerable.Range(0, 5).Select(i => $$"""{"n":{{(batch * 5) + i}},"v":"{{filler}}"}""")) + "]";
            using var append = await Http.PostAsync("v1/topics/big/partitions/0/records", new StringContent(body, Encoding.UTF8, "application/json"), ct);
            Assert.Equal(HttpStatusCode.OK, append.StatusCode);
        }

        // A read asks for 100 records: the page stops at the budget (one record: two would pass it).
        var page = JsonDocument.Parse(await Http.GetStringAsync("v1/topics/big/partitions/0/records?from=3&limit=100", ct)).RootElement;
        Assert.Equal(1, page.GetProperty("records").GetArrayLength());
        Assert.Equal(4, page.GetProperty("nextOffset").GetInt64());

        // 4 followers of 60 MB of records that stop reading after their first bytes: the server holds what it read
        // for each of them (one page of the log), then they read on to the end.
        using var peak = PeakRss.Start();
        var started = Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var readOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var followers = started.Select(async first =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/topics/big/partitions/0/stream?from=0");
            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            var chunk = new byte[16 * 1024];
            var events = 0;
            var previous = (byte)0;
            while (events < records)
            {
                var read = await stream.ReadAsync(chunk, ct);
                Assert.True(read > 0, "the stream ended early");
                if (first.TrySetResult())
                {
                    await readOn.Task;
                }

                foreach (var b in chunk.AsSpan(0, read))
                {
                    events += previous == '\n' && b == '\n' ? 1 : 0;
                    previous = b;
                }
            }

            return events;
        }).ToArray();
        await Task.WhenAll(started.Select(s => s.Task)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        var stalled = peak.GrowthBytes();
        readOn.SetResult();
        Assert.All(await Task.WhenAll(followers), events => Assert.Equal(records, events));
        var growth = peak.GrowthBytes();
        TestContext.Current.TestOutputHelper?.WriteLine($"peak RSS growth with 4 followers of {records} x {valueBytes >> 20} MB records: {stalled >> 20} MB while they stall, {growth >> 20} MB to the end");
        Assert.True(stalled < 64L << 20, $"peak RSS grew by {stalled >> 20} MB while 4 followers stalled");
        Assert.True(growth < 300L << 20, $"peak RSS grew by {growth >> 20} MB");

        // A WebSocket follower pages the log the same way: every record arrives, one message each, in order.
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new UriBuilder(Http.BaseAddress!) { Scheme = "ws", Path = "/v1/topics/big/partitions/0/ws", Query = "from=26" }.Uri, ct);
        var message = new byte[valueBytes + 1024];
        for (var expected = 26L; expected < records; expected++)
        {
            var length = 0;
            var end = false;
            while (!end)
            {
                var part = await socket.ReceiveAsync(message.AsMemory(length), ct);
                length += part.Count;
                end = part.EndOfMessage;
            }

            var json = JsonDocument.Parse(message.AsMemory(0, length)).RootElement;
            Assert.Equal(expected, json.GetProperty("offset").GetInt64());
            Assert.Equal(expected, json.GetProperty("value").GetProperty("n").GetInt64());
        }

        // Only our half of the close: this test is about paging (the server's close handshake under load is not).
        await socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "enough", ct);
        await AssertServerUp();
    }
}

/// <summary>The growth of this process's peak resident memory (VmHWM) from a reset (Linux <c>/proc/self/clear_refs</c>).</summary>
internal sealed class PeakRss : IDisposable
{
    private readonly long _start;

    private PeakRss() => _start = Read("VmRSS:");

    public static PeakRss Start()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        System.IO.File.WriteAllText("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
        return new PeakRss();
    }

    public long GrowthBytes() => Read("VmHWM:") - _start;

    public void Dispose()
    {
    }

    private static long Read(string key) =>
        long.Parse(System.IO.File.ReadLines("/proc/self/status").Single(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
}
