using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Core;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Tests;

/// <summary>The built-in log over the real HTTP server: topics, appends, reads, SSE and WebSocket followers, live jobs.</summary>
public sealed class TopicHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private async Task<string> NewTopicAsync(int partitions = 1)
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..8];
        var created = await server.Http.PostAsJsonAsync("/v1/topics", new { name, partitions });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return name;
    }

    private async Task<JsonElement> AppendAsync(string topic, int partition, long firstId, int count)
    {
        var records = Enumerable.Range(0, count).Select(i => new { id = firstId + i, text = $"line {firstId + i}\nwith a break" });
        var answer = await server.Http.PostAsJsonAsync($"/v1/topics/{topic}/partitions/{partition}/records", records);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Creating_a_topic_is_idempotent_and_a_different_partition_count_is_a_conflict()
    {
        var topic = await NewTopicAsync(3);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsJsonAsync("/v1/topics", new { name = topic, partitions = 3 })).StatusCode);
        var conflict = await server.Http.PostAsJsonAsync("/v1/topics", new { name = topic, partitions = 4 });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var invalid = await server.Http.PostAsJsonAsync("/v1/topics", new { name = "bad name!", partitions = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("name", (await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Appends_get_dense_offsets_and_read_back_exactly()
    {
        var topic = await NewTopicAsync();
        var first = await AppendAsync(topic, 0, 0, 3);
        Assert.Equal((0, 3), (first.GetProperty("firstOffset").GetInt64(), first.GetProperty("nextOffset").GetInt64()));
        var second = await AppendAsync(topic, 0, 3, 2);
        Assert.Equal((3, 5), (second.GetProperty("firstOffset").GetInt64(), second.GetProperty("nextOffset").GetInt64()));

        var page = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/topics/{topic}/partitions/0/records?from=1&limit=3");
        var records = page.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.GetProperty("offset").GetInt64()));
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.GetProperty("value").GetProperty("id").GetInt64()));
        Assert.Equal("line 2\nwith a break", records[1].GetProperty("value").GetProperty("text").GetString());
        Assert.Equal((4, 5), (page.GetProperty("nextOffset").GetInt64(), page.GetProperty("highWatermark").GetInt64()));
    }

    [Fact]
    public async Task A_bad_append_names_the_record_and_appends_nothing()
    {
        var topic = await NewTopicAsync();
        var answer = await server.Http.PostAsync($"/v1/topics/{topic}/partitions/0/records", new StringContent("[{\"id\":1}, 42, {\"id\":3}]", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        var problem = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("[1]", problem.GetProperty("field").GetString());
        var truncated = await server.Http.PostAsync($"/v1/topics/{topic}/partitions/0/records", new StringContent("[{\"id\":1}, {\"id\":", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, truncated.StatusCode);
        var page = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/topics/{topic}/partitions/0/records");
        Assert.Equal(0, page.GetProperty("highWatermark").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.PostAsJsonAsync($"/v1/topics/{topic}/partitions/5/records", new[] { new { id = 1 } })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.PostAsJsonAsync("/v1/topics/no-such-topic/partitions/0/records", new[] { new { id = 1 } })).StatusCode);
    }

    [Fact]
    public async Task A_read_below_the_retained_start_is_410_with_the_first_retained_offset()
    {
        var topic = await NewTopicAsync();
        await AppendAsync(topic, 0, 0, 10);
        await server.Services.GetRequiredService<ILogStore>().TruncateAsync(topic, 0, 4);
        var gone = await server.Http.GetAsync($"/v1/topics/{topic}/partitions/0/records?from=2");
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        Assert.Equal(4, (await gone.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("firstRetained").GetInt64());
        var sse = await server.Http.GetAsync($"/v1/topics/{topic}/partitions/0/stream?from=0", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Gone, sse.StatusCode);
    }

    /// <summary>Appends 4,000 records of about 4 KB each: far more than the socket and Kestrel buffers, so a follower that stops reading stays behind.</summary>
    private async Task AppendBulkyAsync(string topic)
    {
        var pad = new string('x', 4_000);
        for (var first = 0; first < 4_000; first += 500)
        {
            var records = Enumerable.Range(first, 500).Select(i => new { id = i, pad });
            (await server.Http.PostAsJsonAsync($"/v1/topics/{topic}/partitions/0/records", records)).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task A_follower_that_retention_overtook_is_told_so_with_the_first_retained_offset()
    {
        var store = server.Services.GetRequiredService<ILogStore>();
        using var timeout = new CancellationTokenSource(Patience);

        // SSE: the follower reads a few records and stops reading; retention removes all but the last 100.
        var topic = await NewTopicAsync();
        await AppendBulkyAsync(topic);
        using (var answer = await server.Http.GetAsync($"/v1/topics/{topic}/partitions/0/stream?from=0", HttpCompletionOption.ResponseHeadersRead, timeout.Token))
        {
            using var reader = new StreamReader(await answer.Content.ReadAsStreamAsync(timeout.Token));
            for (var ids = 0; ids < 10 && await reader.ReadLineAsync(timeout.Token) is { } line;)
            {
                ids += line.StartsWith("id: ", StringComparison.Ordinal) ? 1 : 0;
            }

            await store.TruncateAsync(topic, 0, 3_900, timeout.Token);
            var rest = await reader.ReadToEndAsync(timeout.Token);
            Assert.EndsWith("event: truncated\ndata: {\"firstRetained\":3900}\n\n", rest, StringComparison.Ordinal);
        }

        // WebSocket: the same, told by the close.
        var topic2 = await NewTopicAsync();
        await AppendBulkyAsync(topic2);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new UriBuilder(server.Http.BaseAddress!) { Scheme = "ws", Path = $"/v1/topics/{topic2}/partitions/0/ws", Query = "from=0" }.Uri, timeout.Token);
        var buffer = new byte[64 * 1024];
        for (var i = 0; i < 10; i++)
        {
            await socket.ReceiveAsync(buffer, timeout.Token);
        }

        await store.TruncateAsync(topic2, 0, 3_900, timeout.Token);
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
        }
        while (result.MessageType != WebSocketMessageType.Close);

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, result.CloseStatus);
        Assert.Contains("first retained offset 3900", result.CloseStatusDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_sse_follower_that_disconnects_resumes_from_last_event_id_with_no_gap_and_no_repeat()
    {
        var topic = await NewTopicAsync();
        await AppendAsync(topic, 0, 0, 100);
        var received = new List<long>();

        // First connection: read 40 events, then hang up mid-stream.
        await ReadSseAsync($"/v1/topics/{topic}/partitions/0/stream?from=0", null, received, stopAfter: 40);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), received);

        // Records that land while nobody listens, and while the second connection is open, all arrive.
        await AppendAsync(topic, 0, 100, 50);
        var late = Task.Run(async () =>
        {
            await Task.Delay(300);
            await AppendAsync(topic, 0, 150, 50);
        });
        await ReadSseAsync($"/v1/topics/{topic}/partitions/0/stream", received[^1].ToString(System.Globalization.CultureInfo.InvariantCulture), received, stopAfter: 160);
        await late;
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), received);
    }

    private async Task ReadSseAsync(string url, string? lastEventId, List<long> received, int stopAfter)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var timeout = new CancellationTokenSource(Patience);
        using var answer = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("text/event-stream", answer.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await answer.Content.ReadAsStreamAsync(timeout.Token));
        long? id = null;
        var count = 0;
        while (count < stopAfter && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var value = JsonDocument.Parse(line[6..]).RootElement;
                Assert.Equal(id, value.GetProperty("id").GetInt64());
                received.Add(id!.Value);
                count++;
            }
        }
    }

    [Fact]
    public async Task A_websocket_follower_that_disconnects_resumes_from_its_next_offset_with_no_gap_and_no_repeat()
    {
        var topic = await NewTopicAsync();
        await AppendAsync(topic, 0, 0, 60);
        var received = new List<long>();
        await ReadWebSocketAsync(topic, 0, received, stopAfter: 25);
        await AppendAsync(topic, 0, 60, 40);
        var late = Task.Run(async () =>
        {
            await Task.Delay(300);
            await AppendAsync(topic, 0, 100, 20);
        });
        await ReadWebSocketAsync(topic, received[^1] + 1, received, stopAfter: 95);
        await late;
        Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), received);
    }

    private async Task ReadWebSocketAsync(string topic, long from, List<long> received, int stopAfter)
    {
        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(Patience);
        var uri = new UriBuilder(server.Http.BaseAddress!) { Scheme = "ws", Path = $"/v1/topics/{topic}/partitions/0/ws", Query = $"from={from}" }.Uri;
        await socket.ConnectAsync(uri, timeout.Token);
        var buffer = new byte[64 * 1024];
        for (var count = 0; count < stopAfter; count++)
        {
            var message = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal(WebSocketMessageType.Text, message.MessageType);
            Assert.True(message.EndOfMessage);
            var json = JsonDocument.Parse(buffer.AsMemory(0, message.Count)).RootElement;
            var offset = json.GetProperty("offset").GetInt64();
            Assert.Equal(offset, json.GetProperty("value").GetProperty("id").GetInt64());
            received.Add(offset);
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "enough", timeout.Token);
    }

    [Fact]
    public async Task A_live_job_over_http_cuts_shards_as_records_land_and_reports_lag_per_partition()
    {
        var topic = await NewTopicAsync(2);
        var job = "live-" + topic;
        var created = await server.Http.PostAsJsonAsync("/v1/jobs", new { id = job, source = new { kind = "topic", topic }, shardSize = 10, maxWaitMs = 100 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await AppendAsync(topic, 0, 0, 25);
        await AppendAsync(topic, 1, 25, 5);

        var seen = new List<long>();
        using var timeout = new CancellationTokenSource(Patience);
        while (seen.Count < 30)
        {
            var batch = await server.Client.LeaseAsync(job, "w", 10, cancellationToken: timeout.Token);
            if (batch.Leases.Count == 0)
            {
                Assert.NotNull(batch.RetryAfterMs);
                await Task.Delay(batch.RetryAfterMs!.Value, timeout.Token);
                continue;
            }

            foreach (var lease in batch.Leases)
            {
                using var page = await server.Client.GetRecordsAsync(job, lease.TaskId, cancellationToken: timeout.Token);
                seen.AddRange(page.Records.EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
                await server.Client.ReportAsync(job, new GrainInterfaces.TaskReport(lease.TaskId, lease.LeaseId, "w", Done: true), timeout.Token);
            }
        }

        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), seen.Order());
        var status = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}");
        var partitions = status.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal([25L, 5L], partitions.Select(p => p.GetProperty("committed").GetInt64()));
        Assert.Equal([0L, 0L], partitions.Select(p => p.GetProperty("lag").GetInt64()));
        Assert.Equal("running", status.GetProperty("state").GetString());
    }
}

/// <summary>Retention of the built-in log against the real server: by count, never past a live job's committed offset.</summary>
public sealed class TopicRetentionTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Retention_by_count_stops_at_the_committed_offset_of_a_job_still_reading_the_topic()
    {
        var topic = "r-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await server.Http.PostAsJsonAsync("/v1/topics", new { name = topic, partitions = 1 })).StatusCode);
        var job = "retained-" + topic;
        Assert.Equal(HttpStatusCode.Created, (await server.Http.PostAsJsonAsync("/v1/jobs", new { id = job, source = new { kind = "topic", topic }, shardSize = 10, maxWaitMs = 50 })).StatusCode);
        var records = Enumerable.Range(0, 100).Select(i => new { id = i });
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsJsonAsync($"/v1/topics/{topic}/partitions/0/records", records)).StatusCode);

        // The job commits its first three shards: [0, 30).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reported = 0;
        while (reported < 3)
        {
            var batch = await server.Client.LeaseAsync(job, "w", 1, cancellationToken: timeout.Token);
            foreach (var lease in batch.Leases)
            {
                await server.Client.ReportAsync(job, new GrainInterfaces.TaskReport(lease.TaskId, lease.LeaseId, "w", Done: true), timeout.Token);
                reported++;
            }

            if (batch.Leases.Count == 0)
            {
                await Task.Delay(50, timeout.Token);
            }
        }

        var retention = ActivatorUtilities.CreateInstance<TopicRetention>(server.Services);
        await retention.RunOnceAsync(new LogRetention(maxRecords: 10, maxAge: null), timeout.Token);
        var bounds = await server.Services.GetRequiredService<ILogStore>().GetBoundsAsync(topic, 0, timeout.Token);
        Assert.Equal(new PartitionBounds(30, 100), bounds);

        // Once the job is gone, the count alone decides.
        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.DeleteAsync($"/v1/jobs/{job}", timeout.Token)).StatusCode);
        await retention.RunOnceAsync(new LogRetention(maxRecords: 10, maxAge: null), timeout.Token);
        bounds = await server.Services.GetRequiredService<ILogStore>().GetBoundsAsync(topic, 0, timeout.Token);
        Assert.Equal(new PartitionBounds(90, 100), bounds);
    }
}
