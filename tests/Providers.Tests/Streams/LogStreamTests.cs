using System.Text;
using OrleansShards.Providers.Streams;

namespace OrleansShards.Providers.Tests.Streams;

/// <summary>The log stream provider in a real two-silo cluster, with a client subscriber.</summary>
public sealed class LogStreamTests(LogStreamCluster fixture) : IClassFixture<LogStreamCluster>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Topic() => "topic-" + Guid.NewGuid().ToString("N")[..8];

    private static IEnumerable<long> Range(long from, long to) => Enumerable.Range((int)from, (int)(to - from)).Select(i => (long)i);

    [Fact]
    public async Task A_subscriber_receives_the_records_appended_to_the_log_with_their_offsets()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 2, Ct);
        var one = new Collector();
        var zero = new Collector();
        await fixture.Stream(topic, 1).SubscribeAsync(one, new LogSequenceToken(0));
        await fixture.Stream(topic, 0).SubscribeAsync(zero, new LogSequenceToken(0));

        await fixture.AppendAsync(topic, 1, 0, 1);
        await fixture.AppendAsync(topic, 1, 1, 5);
        await fixture.AppendAsync(topic, 1, 6, 4);
        await fixture.AppendAsync(topic, 0, 100, 2);
        await one.WaitForAsync(10, "partition 1 delivered its 10 records");
        await zero.WaitForAsync(2, "partition 0 delivered its 2 records");

        Assert.Equal(Range(0, 10), one.Offsets);
        Assert.All(one.Received, r => Assert.Equal(topic, r.Topic));
        Assert.All(one.Received, r => Assert.Equal(1, r.Partition));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{{\"i\":{i}}}"), one.Received.Select(r => r.Json));
        Assert.Equal(Range(0, 10), one.Tokens.Select(t => t!.SequenceNumber));
        Assert.Equal(["{\"i\":100}", "{\"i\":101}"], zero.Received.Select(r => r.Json));
        Assert.Empty(one.Errors);
    }

    [Fact]
    public async Task Unsubscribing_and_subscribing_again_from_the_next_offset_gives_exactly_the_contiguous_range()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 1, Ct);
        var first = new Collector();
        var handle = await fixture.Stream(topic, 0).SubscribeAsync(first, new LogSequenceToken(0));
        var producing = Task.Run(async () =>
        {
            for (var i = 0; i < 120; i += 3)
            {
                await fixture.AppendAsync(topic, 0, i, 3);
                await Task.Delay(5, Ct);
            }
        }, Ct);

        await first.WaitForAsync(20, "the first subscription got 20 records");
        await handle.UnsubscribeAsync();
        var resumeAt = first.LastOffset + 1;
        await producing;

        var second = new Collector();
        await fixture.Stream(topic, 0).SubscribeAsync(second, new LogSequenceToken(resumeAt));
        await second.WaitForAsync((int)(120 - resumeAt), "the second subscription caught up to the end");

        var all = first.Offsets.Concat(second.Offsets).ToList();
        Assert.Equal(Range(0, 120), all);
        Assert.Equal(Enumerable.Range(0, 120).Select(i => $"{{\"i\":{i}}}"), first.Received.Concat(second.Received).Select(r => r.Json));
    }

    [Fact]
    public async Task A_restarted_client_resumes_from_its_last_offset_plus_one()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 1, Ct);
        await fixture.AppendAsync(topic, 0, 0, 30);
        var before = new Collector();
        await fixture.Stream(topic, 0).SubscribeAsync(before, new LogSequenceToken(0));
        await before.WaitForAsync(30, "the first client got 30 records");

        await fixture.Cluster.StopClusterClientAsync();
        await fixture.AppendAsync(topic, 0, 30, 30);
        await fixture.Cluster.InitializeClientAsync();

        var after = new Collector();
        await fixture.Stream(topic, 0).SubscribeAsync(after, new LogSequenceToken(before.LastOffset + 1));
        await fixture.AppendAsync(topic, 0, 60, 10);
        await after.WaitForAsync(40, "the restarted client got the rest");

        Assert.Equal(Range(0, 70), before.Offsets.Concat(after.Offsets));
    }

    [Fact]
    public async Task A_subscriber_starting_far_older_than_the_cache_gets_every_record_from_the_log()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 1, Ct);
        var live = new Collector();
        await fixture.Stream(topic, 0).SubscribeAsync(live, new LogSequenceToken(0));
        for (var i = 0; i < 600; i += 100)
        {
            await fixture.AppendAsync(topic, 0, i, 100);
        }

        // Everything has passed through the receivers, whose windows keep the last 16 records per partition.
        await live.WaitForAsync(600, "the live subscriber got all 600 records");

        var late = new Collector();
        await fixture.Stream(topic, 0).SubscribeAsync(late, new LogSequenceToken(7));
        await late.WaitForAsync(593, "the late subscriber read from offset 7 on");
        await fixture.AppendAsync(topic, 0, 600, 5);
        await late.WaitForAsync(598, "the late subscriber got the new records too");

        Assert.Equal(Range(7, 605), late.Offsets);
        Assert.Equal(Enumerable.Range(7, 598).Select(i => $"{{\"i\":{i}}}"), late.Received.Select(r => r.Json));
    }

    [Fact]
    public async Task Resume_on_a_handle_restarts_at_the_offset_of_its_token()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 1, Ct);
        var first = new Collector();
        var handle = await fixture.Stream(topic, 0).SubscribeAsync(first, new LogSequenceToken(0));
        await fixture.AppendAsync(topic, 0, 0, 40);
        await first.WaitForAsync(40, "40 records before the resume");

        // Like a new subscription, a resume delivers from the token's offset on: records from 10 come again, once each.
        var second = new Collector();
        await handle.ResumeAsync(second, new LogSequenceToken(10));
        await fixture.AppendAsync(topic, 0, 40, 5);
        await second.WaitForAsync(35, "the resumed observer got 10..44");

        Assert.Equal(Range(10, 45), second.Offsets);
    }

    [Fact]
    public async Task A_subscriber_asking_for_truncated_records_is_told_not_skipped_silently()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 1, Ct);
        await fixture.AppendAsync(topic, 0, 0, 50);
        await fixture.Store.TruncateAsync(topic, 0, 30, Ct);

        var collector = new Collector();
        await fixture.Stream(topic, 0).SubscribeAsync(collector, new LogSequenceToken(10));
        await fixture.AppendAsync(topic, 0, 50, 5);
        await Db.WaitUntilAsync(() => !collector.Errors.IsEmpty || !collector.Received.IsEmpty, "the subscriber heard something", null, TimeSpan.FromSeconds(60));
        await Task.Delay(1000, Ct);
        Assert.True(!collector.Errors.IsEmpty, $"no error; received [{string.Join(",", collector.Offsets)}]");
        Assert.Contains(collector.Errors, e => e.ToString().Contains("first retained offset 30", StringComparison.Ordinal));
        Assert.DoesNotContain(collector.Offsets, o => o < 30);
    }

    [Fact]
    public async Task A_partition_added_at_run_time_delivers()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 1, Ct);
        await fixture.Store.AddPartitionsAsync(topic, 3, Ct);
        var collector = new Collector();
        await fixture.Stream(topic, 2).SubscribeAsync(collector, new LogSequenceToken(0));
        await fixture.AppendAsync(topic, 2, 0, 3);
        await collector.WaitForAsync(3, "the new partition delivered");
        Assert.Equal(Range(0, 3), collector.Offsets);

        await fixture.AppendAsync(topic, 2, 3, 2);
        await collector.WaitForAsync(5, "the later records");
        Assert.Equal(Range(0, 5), collector.Offsets);
    }

    [Fact]
    public async Task A_client_producing_on_the_stream_appends_to_the_log_once()
    {
        var topic = Topic();
        await fixture.Store.CreateTopicAsync(topic, 1, Ct);
        var collector = new Collector();
        var stream = fixture.Stream(topic, 0);
        await stream.SubscribeAsync(collector, new LogSequenceToken(0));

        await stream.OnNextAsync(LogStreamRecord.FromJson("{\"produced\":1}"));
        await stream.OnNextBatchAsync([LogStreamRecord.FromJson("[2]"), LogStreamRecord.FromJson("\"three\"")]);

        // Acknowledged means durable: the log has them before any subscriber is involved.
        var read = await fixture.Store.ReadAsync(topic, 0, 0, 10, Ct);
        Assert.Equal(["{\"produced\":1}", "[2]", "\"three\""], read.Records.Select(r => Encoding.UTF8.GetString(r.Value.Span)));

        await collector.WaitForAsync(3, "the produced records reached the subscriber");
        Assert.Equal(Range(0, 3), collector.Offsets);

        var bad = await Assert.ThrowsAnyAsync<Exception>(() => stream.OnNextAsync(LogStreamRecord.FromJson("{not json")));
        Assert.Contains("not one valid UTF-8 JSON value", bad.ToString(), StringComparison.Ordinal);
        Assert.Equal(3, (await fixture.Store.GetBoundsAsync(topic, 0, Ct)).HighWatermark);
    }
}

/// <summary>Subscriptions across silo restarts (a cluster of their own: the test stops and starts silos).</summary>
public sealed class LogStreamRestartTests(LogStreamCluster fixture) : IClassFixture<LogStreamCluster>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_subscription_survives_silo_restarts_without_losing_or_repeating_records()
    {
        var topic = "restart";
        await fixture.Store.CreateTopicAsync(topic, 4, Ct);
        var collectors = new Collector[4];
        for (var p = 0; p < 4; p++)
        {
            collectors[p] = new Collector();
            await fixture.Stream(topic, p).SubscribeAsync(collectors[p], new LogSequenceToken(0));
            await fixture.AppendAsync(topic, p, 0, 10);
        }

        foreach (var collector in collectors)
        {
            await collector.WaitForAsync(10, "10 records before the restart");
        }

        // The secondary silo twice (the primary holds the test cluster's membership): its pulling agents move to the
        // other silo and back, and the pub-sub grains it hosted are activated again from their store.
        for (var restart = 0; restart < 2; restart++)
        {
            var silo = fixture.Cluster.Silos[^1];
            await fixture.Cluster.StopSiloAsync(silo);
            for (var p = 0; p < 4; p++)
            {
                await fixture.AppendAsync(topic, p, (int)(await fixture.Store.GetBoundsAsync(topic, p, Ct)).HighWatermark, 5);
            }

            await fixture.Cluster.StartAdditionalSiloAsync();
        }

        for (var p = 0; p < 4; p++)
        {
            await fixture.AppendAsync(topic, p, 20, 5);
        }

        for (var p = 0; p < 4; p++)
        {
            await collectors[p].WaitForAsync(25, $"partition {p} delivered all 25 records");
        }

        await Task.Delay(500, Ct); // Anything repeated would arrive now.
        for (var p = 0; p < 4; p++)
        {
            Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), collectors[p].Offsets);
        }
    }
}
