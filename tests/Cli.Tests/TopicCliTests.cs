using System.Diagnostics;
using System.Text.Json;
using OrleansShards.Tests.Servers;
using static OrleansShards.Cli.Tests.ShardsProcess;

namespace OrleansShards.Cli.Tests;

/// <summary>
/// <c>shards topic create|list|describe|delete|append|tail</c> as a real process against a real server.
/// </summary>
public sealed class TopicCliTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private Uri Server => server.Address;

    [Fact]
    public async Task Create_append_and_tail_round_trip_records_with_their_offsets()
    {
        var created = await Shards(Server, "topic", "create", "cli-topic", "--partitions", "2");
        Assert.True(created.ExitCode == 0, created.ToString());

        var fromStdin = await ShardsWithInput(Server, "{\"n\":0}\n{\"n\":1}\n\n{\"n\":2}\n", "topic", "append", "cli-topic", "--partition", "1");
        Assert.True(fromStdin.ExitCode == 0, fromStdin.ToString());
        Assert.Equal("appended offsets 0..2 to cli-topic/1", fromStdin.Stdout.Trim());

        var file = server.File("more.jsonl", "{\"n\":3}\n{\"s\":\"text\"}\n");
        var fromFile = await Shards(Server, "topic", "append", "cli-topic", "--partition", "1", "-f", file);
        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.Equal("appended offsets 3..4 to cli-topic/1", fromFile.Stdout.Trim());

        var tail = await Shards(Server, "topic", "tail", "cli-topic", "--partition", "1", "--from", "1");
        Assert.True(tail.ExitCode == 0, tail.ToString());
        var lines = tail.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["{\"offset\":1,\"value\":{\"n\":1}}", "{\"offset\":2,\"value\":{\"n\":2}}", "{\"offset\":3,\"value\":{\"n\":3}}", "{\"offset\":4,\"value\":{\"s\":\"text\"}}"], lines);

        var empty = await Shards(Server, "topic", "tail", "cli-topic", "--partition", "0");
        Assert.True(empty.ExitCode == 0, empty.ToString());
        Assert.Equal("", empty.Stdout);
    }

    [Fact]
    public async Task Tail_follow_prints_records_that_land_after_it_started()
    {
        Assert.Equal(0, (await Shards(Server, "topic", "create", "cli-follow", "--partitions", "1")).ExitCode);
        await server.Client.AppendAsync("cli-follow", 0, [JsonDocument.Parse("{\"early\":true}").RootElement]);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { CliPath, "--server", Server.ToString(), "topic", "tail", "cli-follow", "--from", "0", "--follow" })
        {
            start.ArgumentList.Add(arg);
        }

        using var follow = Process.Start(start)!;
        try
        {
            using var deadline = new CancellationTokenSource(ShardsProcess.Timeout);
            Assert.Equal("{\"offset\":0,\"value\":{\"early\":true}}", await follow.StandardOutput.ReadLineAsync(deadline.Token));
            await server.Client.AppendAsync("cli-follow", 0, [JsonDocument.Parse("{\"late\":1}").RootElement]);
            Assert.Equal("{\"offset\":1,\"value\":{\"late\":1}}", await follow.StandardOutput.ReadLineAsync(deadline.Token));
        }
        finally
        {
            follow.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task A_line_that_is_not_json_is_named_and_nothing_after_it_is_appended()
    {
        Assert.Equal(0, (await Shards(Server, "topic", "create", "cli-bad", "--partitions", "1")).ExitCode);
        var error = AssertOneLineError(await ShardsWithInput(Server, "{\"ok\":1}\n{oops\n{\"ok\":2}\n", "topic", "append", "cli-bad"));
        Assert.Contains("stdin line 2: not valid JSON", error);
        Assert.Empty((await server.Client.ReadTopicAsync("cli-bad", 0)).Records);
    }

    [Fact]
    public async Task List_describe_and_delete_show_topics_as_plain_lines_when_piped()
    {
        Assert.Equal(0, (await Shards(Server, "topic", "create", "cli-admin", "--partitions", "2")).ExitCode);
        await server.Client.AppendAsync("cli-admin", 1, [JsonDocument.Parse("{\"n\":1}").RootElement, JsonDocument.Parse("{\"n\":2}").RootElement]);

        var list = await Shards(Server, "topic", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        // Piped: a header and tab-separated cells, no table borders.
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("topic\tpartitions\tcreated", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("cli-admin\t2\t", StringComparison.Ordinal));

        var describe = await Shards(Server, "topic", "describe", "cli-admin");
        Assert.True(describe.ExitCode == 0, describe.ToString());
        var rows = describe.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("# topic cli-admin, created ", rows[0]);
        Assert.Equal(["partition\tfirst retained\thigh-water mark\trecords held", "0\t0\t0\t0", "1\t0\t2\t2"], rows[1..]);

        var deleted = await Shards(Server, "topic", "delete", "cli-admin");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.DoesNotContain(await server.Client.ListTopicsAsync(), t => t.Name == "cli-admin");
        Assert.Contains("topic 'cli-admin' does not exist", AssertOneLineError(await Shards(Server, "topic", "describe", "cli-admin")));
    }
}
