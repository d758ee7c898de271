using System.Text;
using Google.Protobuf;
using OrleansShards.Readers.TfRecord;

namespace OrleansShards.Readers.Tests;

/// <summary>A feature value of a test example: int64, float or bytes values.</summary>
public abstract record TfValue
{
    public sealed record Int64s(long[] Values, bool Packed = true) : TfValue;

    public sealed record Floats(float[] Values, bool Packed = true) : TfValue;

    public sealed record Bytes(byte[][] Values) : TfValue;

    /// <summary>A Feature message with no list set.</summary>
    public sealed record Unset : TfValue;
}

/// <summary>Encodes tf.train.Example records with Google.Protobuf's CodedOutputStream, and writes TFRecord files.</summary>
public static class TfRecordTestFiles
{
    public static byte[] Example(IEnumerable<(string Key, TfValue Value)> features)
    {
        var featuresBody = Message(o =>
        {
            foreach (var (key, value) in features)
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(MapEntry(key, value)));
            }
        });
        return Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(featuresBody));
        });
    }

    public static byte[] MapEntry(string key, TfValue value) => Message(o =>
    {
        o.WriteTag(1, WireFormat.WireType.LengthDelimited);
        o.WriteString(key);
        o.WriteTag(2, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(Feature(value)));
    });

    public static byte[] Feature(TfValue value) => Message(o =>
    {
        switch (value)
        {
            case TfValue.Int64s i:
                o.WriteTag(3, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Message(l =>
                {
                    if (i.Packed)
                    {
                        var body = Message(p => Array.ForEach(i.Values, p.WriteInt64));
                        l.WriteTag(1, WireFormat.WireType.LengthDelimited);
                        l.WriteBytes(ByteString.CopyFrom(body));
                    }
                    else
                    {
                        foreach (var v in i.Values)
                        {
                            l.WriteTag(1, WireFormat.WireType.Varint);
                            l.WriteInt64(v);
                        }
                    }
                })));
                break;
            case TfValue.Floats f:
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Message(l =>
                {
                    if (f.Packed)
                    {
                        var body = Message(p => Array.ForEach(f.Values, p.WriteFloat));
                        l.WriteTag(1, WireFormat.WireType.LengthDelimited);
                        l.WriteBytes(ByteString.CopyFrom(body));
                    }
                    else
                    {
                        foreach (var v in f.Values)
                        {
                            l.WriteTag(1, WireFormat.WireType.Fixed32);
                            l.WriteFloat(v);
                        }
                    }
                })));
                break;
            case TfValue.Bytes b:
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Message(l =>
                {
                    foreach (var v in b.Values)
                    {
                        l.WriteTag(1, WireFormat.WireType.LengthDelimited);
                        l.WriteBytes(ByteString.CopyFrom(v));
                    }
                })));
                break;
        }
    });

    public static byte[] Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        using (var o = new CodedOutputStream(ms, leaveOpen: true))
        {
            write(o);
        }

        return ms.ToArray();
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>Bytes that are not valid UTF-8.</summary>
    public static byte[] Binary(int i) => [0xC3, 0x28, (byte)i, 0xFF, (byte)(i >> 8)];

    /// <summary>
    /// The features of record i: id (int64 scalar), score (float scalar, absent when i % 7 == 3), text (UTF-8 with
    /// escapes), tags (two UTF-8 values), vec (three int64s, some negative or large), blob (bytes that are not UTF-8),
    /// emb (floats, NaN and infinity among them now and then). Every third record uses unpacked lists.
    /// </summary>
    public static List<(string Key, TfValue Value)> Features(int i)
    {
        var packed = i % 3 != 1;
        var features = new List<(string, TfValue)> { ("id", new TfValue.Int64s([i], packed)) };
        if (i % 7 != 3)
        {
            features.Add(("score", new TfValue.Floats([i * 0.25f], packed)));
        }

        features.Add(("text", new TfValue.Bytes([Utf8($"line \"{i}\"\né ✓\t\\")])));
        features.Add(("tags", new TfValue.Bytes([Utf8($"t{i % 5}"), Utf8("x")])));
        features.Add(("vec", new TfValue.Int64s([i, -i, i * 1_000_000_000_000L], packed)));
        features.Add(("blob", new TfValue.Bytes([Binary(i)])));
        features.Add(("emb", new TfValue.Floats(i % 11 == 5 ? [float.NaN, float.PositiveInfinity, -1.5f] : [0.5f, i, -i / 4f], packed)));
        return features;
    }

    /// <summary>Record i is raw bytes when i % 10 == 9 (not an Example: it starts with an invalid tag), else an Example.</summary>
    public static bool IsRaw(int i) => i % 10 == 9;

    public static byte[] RawRecord(int i)
    {
        var bytes = new byte[1 + (i % 37)];
        bytes[0] = 0xFF;
        for (var k = 1; k < bytes.Length; k++)
        {
            bytes[k] = (byte)(i * 31 + k);
        }

        return bytes;
    }

    public static byte[] Record(int i) => IsRaw(i) ? RawRecord(i) : Example(Features(i));

    /// <summary>Writes records <c>[0, count)</c>; returns the byte offset of every record and the end.</summary>
    public static long[] Write(string path, int count, Func<int, byte[]>? record = null)
    {
        record ??= Record;
        var offsets = new long[count + 1];
        using var fs = File.Create(path);
        var writer = new TfRecordWriter(fs);
        for (var i = 0; i < count; i++)
        {
            offsets[i] = writer.BytesWritten;
            writer.Write(record(i));
        }

        offsets[count] = writer.BytesWritten;
        return offsets;
    }

    /// <summary>A bit-at-a-time CRC32C, independent of the reader's, to check its framing.</summary>
    public static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }

    public static uint ReferenceMasked(ReadOnlySpan<byte> data)
    {
        var crc = ReferenceCrc32C(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }
}
