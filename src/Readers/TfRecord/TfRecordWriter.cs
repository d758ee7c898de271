using System.Buffers.Binary;

namespace OrleansShards.Readers.TfRecord;

/// <summary>
/// Writes TFRecord files: each record framed by its length and the masked CRC32C checks of the length and the data,
/// as TensorFlow's <c>TFRecordWriter</c> writes them (uncompressed). For generating test and benchmark data.
/// </summary>
/// <param name="output">The stream to write to; left open.</param>
public sealed class TfRecordWriter(Stream output)
{
    private readonly byte[] _header = new byte[12];
    private readonly byte[] _footer = new byte[4];

    /// <summary>Bytes written so far, the framing included.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Records written so far.</summary>
    public long RecordsWritten { get; private set; }

    /// <summary>Writes one record.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), TfRecordCrc.MaskedLength((ulong)data.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(_footer, TfRecordCrc.Masked(data));
        output.Write(_header);
        output.Write(data);
        output.Write(_footer);
        BytesWritten += 16 + data.Length;
        RecordsWritten++;
    }
}
