namespace OrleansShards.Core.Sources;

/// <summary>The options of a Redis Streams source.</summary>
/// <param name="Connection">The name of a connection the operator defined in configuration.</param>
/// <param name="Keys">The stream keys, one partition each, in partition order.</param>
public sealed record RedisStreamsSourceSpec(string Connection, IReadOnlyList<string> Keys);
