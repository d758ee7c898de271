namespace OrleansShards.Core.Sources;

/// <summary>The options of a topic of the built-in log.</summary>
/// <param name="Topic">The topic.</param>
public sealed record TopicSourceSpec(string Topic);
