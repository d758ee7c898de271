namespace OrleansShards.Core;

/// <summary>What is wrong with a commit or a rewind.</summary>
public enum RunBookProblem
{
    /// <summary>A value out of range.</summary>
    Invalid,

    /// <summary>A commit before the committed step, or a checkpoint name already used.</summary>
    Backwards,

    /// <summary>A rewind to a commit the run does not keep.</summary>
    Unknown,

    /// <summary>A live step whose seal was dropped with the commits before the oldest kept one.</summary>
    Forgotten,
}
