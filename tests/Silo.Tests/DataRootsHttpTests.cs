using System.Net;
using System.Text;
using System.Text.Json;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>The real server with a data directory and a secret file beside it (outside the roots).</summary>
public sealed class DataRootsServerFixture : InProcessServer
{
    public DataRootsServerFixture()
        : base("roots")
    {
    }

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

/// <summary>Attacks on the data roots through HTTP: each answers a 4xx naming the field, and the server stays up.</summary>
public sealed class DataRootsHttpTests(DataRootsServerFixture server) : IClassFixture<DataRootsServerFixture>
{
    private HttpClient Http => server.Http;

    private async Task<(HttpStatusCode Status, JsonElement Body)> CreateJob(string id, string source)
    {
        using var response = await Http.PostAsync("v1/jobs", new StringContent(
            $$"""{"id":"{{id}}","source":{{source}},"shardSize":10}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
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
}
