namespace OrleansShards.Readers;

/// <summary>
/// A file reader that checks each path against the data roots before it describes or reads the file: a job pins real
/// paths, so a path that now resolves outside the roots (a link swapped in after the job was created) is a changed
/// source, refused with the path it leads to, and never read.
/// </summary>
/// <remarks>
/// The check and the open are two system calls: a link swapped in between them is not caught by this check. It is
/// still caught by the fingerprint unless the other file has the same length, modification time and record index.
/// </remarks>
internal sealed class RootedPartitionReader(IPartitionReader inner, DataRoots roots) : IPartitionReader
{
    public ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
    {
        Check(path);
        return inner.DescribeAsync(path, cancellationToken);
    }

    public ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Check(request.Path);
        return inner.ReadAsync(request, cancellationToken);
    }

    private void Check(string path)
    {
        try
        {
            roots.CheckReadable(path);
        }
        catch (Exception e) when (e is PathOutsideRootsException or SourcePathException)
        {
            throw new SourceChangedException(path, e.Message);
        }
    }
}
