namespace OrleansShards.Core;

/// <summary>The answer to a report, with the reason when it was not accepted.</summary>
/// <param name="Result">What became of the report.</param>
/// <param name="Reason">Why, when the report was not accepted.</param>
public readonly record struct ReportAnswer(ReportResult Result, string? Reason = null);
