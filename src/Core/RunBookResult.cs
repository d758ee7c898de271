namespace OrleansShards.Core;

/// <summary>What a commit or a rewind did.</summary>
public enum RunBookResult
{
    /// <summary>The commits changed.</summary>
    Changed,

    /// <summary>The same commit again, or a rewind to the committed step: nothing changed.</summary>
    Unchanged,
}
