namespace OrleansShards.Client;

/// <summary>Administration of the built-in log's topics (docs/http-api.md, "Topics").</summary>
public sealed partial class ShardsClient
{
    /// <summary>Every topic of the built-in log.</summary>
    public async Task<IReadOnlyList<TopicSummary>> ListTopicsAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync<TopicList>(HttpMethod.Get, "v1/topics", null, cancellationToken)).Topics;

    /// <summary>A topic with each partition's retained range; a 404 <see cref="ShardsApiException"/> when there is none by that name.</summary>
    public Task<TopicInfo> DescribeTopicAsync(string topic, CancellationToken cancellationToken = default) =>
        SendAsync<TopicInfo>(HttpMethod.Get, TopicRoot(topic), null, cancellationToken);

    /// <summary>Deletes a topic and its records; a 404 <see cref="ShardsApiException"/> when there is none by that name.</summary>
    public async Task DeleteTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        using var response = await SendRawAsync(HttpMethod.Delete, TopicRoot(topic), null, cancellationToken, retry: true);
    }

    private static string TopicRoot(string topic) => "v1/topics/" + Uri.EscapeDataString(topic);

    private sealed record TopicList(IReadOnlyList<TopicSummary> Topics);
}
