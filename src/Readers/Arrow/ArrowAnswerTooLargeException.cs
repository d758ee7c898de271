namespace OrleansShards.Readers.Arrow;

/// <summary>An Arrow answer refused before it is built: too many distinct columns or too many bytes; names the bound.</summary>
public sealed class ArrowAnswerTooLargeException(string limit, string message) : InvalidOperationException(message)
{
    /// <summary>The bound that refused it, as named in <see cref="ReadLimits"/>.</summary>
    public string Limit { get; } = limit;
}
