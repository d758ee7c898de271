namespace OrleansShards.Core;

/// <summary>A refused commit or rewind; <see cref="Field"/> names the field at fault.</summary>
public sealed class RunBookException(RunBookProblem problem, string field, string message) : Exception(message)
{
    /// <summary>What is wrong.</summary>
    public RunBookProblem Problem { get; } = problem;

    /// <summary>The field at fault.</summary>
    public string Field { get; } = field;
}
