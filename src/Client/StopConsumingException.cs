namespace OrleansShards.Client;

/// <summary>
/// Thrown by a handler of <see cref="ShardsClient.ProcessAsync"/> to stop the loop without a report
/// on the task (its lease is released, so another worker gets it at once); the exception reaches the caller.
/// </summary>
public sealed class StopConsumingException(string message, Exception? inner = null) : Exception(message, inner);
