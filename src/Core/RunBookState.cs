namespace OrleansShards.Core;

/// <summary>The stored state of a run's commits: the latest commits, oldest first, at most <see cref="RunBook.KeptCommits"/>.</summary>
[GenerateSerializer]
public sealed class RunBookState
{
    /// <summary>The kept commits, oldest first; the last is the committed step.</summary>
    [Id(0)] public List<RunCommit> Commits { get; set; } = [];
}
