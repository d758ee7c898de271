namespace OrleansShards.Silo.Hosting;

/// <summary>One schema that a store of the configuration may need.</summary>
/// <param name="Name">What it is, in the output of <c>migrate</c> (e.g. <c>clustering</c>).</param>
/// <param name="IsNeeded">Whether the configuration uses the store this schema belongs to.</param>
/// <param name="ApplyAsync">Creates or updates the schema (idempotent) and returns one line saying where and what it did.</param>
public sealed record SchemaStep(
    string Name,
    Func<IConfiguration, bool> IsNeeded,
    Func<IConfiguration, CancellationToken, Task<string>> ApplyAsync);
