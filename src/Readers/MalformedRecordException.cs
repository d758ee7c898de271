namespace OrleansShards.Readers;

/// <summary>A record that cannot be parsed; names the file and the record.</summary>
public sealed class MalformedRecordException(string path, long recordIndex, long byteOffset, string reason)
    : FormatException($"{path}: record {recordIndex} (byte offset {byteOffset}) is malformed: {reason}")
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>The zero-based index of the record.</summary>
    public long RecordIndex { get; } = recordIndex;

    /// <summary>The byte offset where the record starts.</summary>
    public long ByteOffset { get; } = byteOffset;
}
