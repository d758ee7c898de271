namespace OrleansShards.Core.Sources;

/// <summary>A topic of the built-in log, a partition of the topic a partition of the job; always live.</summary>
public sealed class TopicSourceKind : SourceKind<TopicSourceSpec>
{
    /// <summary>The one instance.</summary>
    public static TopicSourceKind Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => "topic";

    /// <inheritdoc />
    public override bool IsLive(SourceSpec source) => true;

    /// <inheritdoc />
    public override (string Field, string Reason)? Validate(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return string.IsNullOrWhiteSpace(source.Topic) ? ("source.topic", "is required: the name of a topic of the built-in log") : null;
    }

    /// <inheritdoc />
    public override TopicSourceSpec Read(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new(source.Topic ?? "");
    }
}
