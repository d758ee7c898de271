namespace OrleansShards.Providers.GroupCommit;

/// <summary>One write queued to a <see cref="GroupCommitWriter{TOperation}"/>; its caller waits until it is completed.</summary>
internal interface IGroupCommitOperation
{
    /// <summary>Why the write failed; set inside the commit, published by <see cref="Complete"/>.</summary>
    Exception? Error { get; set; }

    /// <summary>Hands the outcome to the caller. Called once, after the transaction that held the write committed or failed.</summary>
    void Complete();
}
