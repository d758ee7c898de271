using System.Text.Unicode;
using Google.Protobuf;

namespace OrleansShards.Readers.TfRecord;

/// <summary>The list a <c>tf.train.Feature</c> holds.</summary>
internal enum TfFeatureKind : byte
{
    /// <summary>No list is set (the <c>kind</c> oneof is empty).</summary>
    None,

    /// <summary>A <c>BytesList</c>.</summary>
    Bytes,

    /// <summary>A <c>FloatList</c>.</summary>
    Float,

    /// <summary>An <c>Int64List</c>.</summary>
    Int64,
}

/// <summary>One feature of a parsed example: its key in the record's buffer and its values in the parser's lists.</summary>
internal struct TfFeature
{
    public int KeyStart;
    public int KeyLength;
    public uint KeyHash;
    public TfFeatureKind Kind;

    /// <summary>The index of the first value in the list of <see cref="Kind"/>.</summary>
    public int First;

    /// <summary>The number of values.</summary>
    public int Count;
}

/// <summary>
/// A strict, allocation-light parser of <c>tf.train.Example</c>, written by hand on Google.Protobuf's
/// <see cref="CodedInputStream"/> (no generated classes: protoc is not part of the build). It accepts what protobuf
/// serializers write for
/// <code>
/// message Example   { Features features = 1; }
/// message Features  { map&lt;string, Feature&gt; feature = 1; }
/// message Feature   { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
/// message BytesList { repeated bytes value = 1; }
/// message FloatList { repeated float value = 1 [packed = true]; }
/// message Int64List { repeated int64 value = 1 [packed = true]; }
/// </code>
/// and nothing else: an unknown field, a wrong wire type, a truncated or overlong field, a key that is not UTF-8, a map
/// entry or a <c>Feature</c> that sets a field twice, a first byte other than the tag of field 1 (0x0A, which
/// serializers write first), or an empty record make it "not an example" (the record is then
/// served as raw bytes). Packed and unpacked lists are both accepted; a key that occurs twice keeps its first position
/// and its last value (protobuf's map semantics).
/// </summary>
/// <remarks>Values are copied out (numbers) or referenced (bytes: offsets into the record's buffer). Reuse one per thread.</remarks>
internal sealed class TfExample
{
    private const uint TagField1Len = (1 << 3) | 2;
    private const uint TagField2Len = (2 << 3) | 2;
    private const uint TagField3Len = (3 << 3) | 2;
    private const uint TagField1Varint = 1 << 3;
    private const uint TagField1Fixed32 = (1 << 3) | 5;

    [ThreadStatic]
    private static TfExample? t_shared;

    private TfFeature[] _features = new TfFeature[16];
    private long[] _int64s = new long[64];
    private float[] _floats = new float[64];
    private int[] _bytes = new int[64];

    /// <summary>A parser for the calling thread.</summary>
    public static TfExample Shared => t_shared ??= new TfExample();

    /// <summary>The buffer of the record last parsed.</summary>
    public byte[] Buffer { get; private set; } = [];

    public int FeatureCount { get; private set; }

    public int Int64Count { get; private set; }

    public int FloatCount { get; private set; }

    /// <summary>Bytes values as (start, length) pairs into <see cref="Buffer"/>.</summary>
    public int BytesCount { get; private set; }

    public ref readonly TfFeature Feature(int i) => ref _features[i];

    public ReadOnlySpan<byte> Key(int i) => Buffer.AsSpan(_features[i].KeyStart, _features[i].KeyLength);

    public long Int64(int i) => _int64s[i];

    public float Float(int i) => _floats[i];

    public ReadOnlySpan<byte> Bytes(int i) => Buffer.AsSpan(_bytes[2 * i], _bytes[2 * i + 1]);

    /// <summary>The index of the feature named <paramref name="key"/> (UTF-8), or -1.</summary>
    public int IndexOf(ReadOnlySpan<byte> key)
    {
        var hash = Hash(key);
        for (var i = 0; i < FeatureCount; i++)
        {
            if (_features[i].KeyHash == hash && Key(i).SequenceEqual(key))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Parses <c>buffer[offset .. offset + length)</c>; false when it is not a valid, non-empty Example.</summary>
    public bool TryParse(byte[] buffer, int offset, int length)
    {
        Buffer = buffer;
        FeatureCount = Int64Count = FloatCount = BytesCount = 0;
        // Serializers begin an Example with the tag of its field 1: anything else is raw bytes, told apart without
        // the exception CodedInputStream would throw on most binary data.
        if (length == 0 || buffer[offset] != TagField1Len)
        {
            return false;
        }

        try
        {
            var input = new CodedInputStream(buffer, offset, length);
            var end = offset + length;
            // Never ReadTag at the end: CodedInputStream then resets its Position (all loops test the position first).
            while (input.Position < end)
            {
                if (input.ReadTag() != TagField1Len || !TryEnd(input, end, out var featuresEnd) || !ParseFeatures(input, featuresEnd))
                {
                    return false;
                }
            }

            return input.Position == end;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>Reads a length and gives the end of the field it prefixes, which must lie within <paramref name="parentEnd"/>.</summary>
    private static bool TryEnd(CodedInputStream input, int parentEnd, out int end)
    {
        var length = input.ReadLength();
        var e = input.Position + length;
        end = (int)Math.Min(e, int.MaxValue);
        return length >= 0 && e <= parentEnd;
    }

    /// <summary>Skips a length-prefixed field whose tag was just read and gives where its bytes lie in the buffer.</summary>
    private bool TrySkipBytes(CodedInputStream input, int parentEnd, out int start, out int length)
    {
        var before = (int)input.Position;
        input.SkipLastField();
        var after = (int)input.Position;
        var p = before;
        while ((Buffer[p] & 0x80) != 0)
        {
            p++;
        }

        start = p + 1;
        length = after - start;
        return after <= parentEnd;
    }

    private bool ParseFeatures(CodedInputStream input, int end)
    {
        while (input.Position < end)
        {
            if (input.ReadTag() != TagField1Len || !TryEnd(input, end, out var entryEnd) || !ParseEntry(input, entryEnd))
            {
                return false;
            }
        }

        return input.Position == end;
    }

    private bool ParseEntry(CodedInputStream input, int end)
    {
        var feature = new TfFeature { KeyStart = (int)input.Position };
        bool keySeen = false, valueSeen = false;
        while (input.Position < end)
        {
            var tag = input.ReadTag();
            if (tag == TagField1Len && !keySeen)
            {
                keySeen = true;
                if (!TrySkipBytes(input, end, out feature.KeyStart, out feature.KeyLength))
                {
                    return false;
                }
            }
            else if (tag == TagField2Len && !valueSeen)
            {
                valueSeen = true;
                if (!TryEnd(input, end, out var featureEnd) || !ParseFeature(input, featureEnd, ref feature))
                {
                    return false;
                }
            }
            else
            {
                return false;
            }
        }

        if (input.Position != end)
        {
            return false;
        }

        var key = Buffer.AsSpan(feature.KeyStart, feature.KeyLength);
        if (!Utf8.IsValid(key))
        {
            return false;
        }

        feature.KeyHash = Hash(key);
        var existing = IndexOf(key);
        if (existing >= 0)
        {
            // A repeated key: protobuf keeps the last value.
            _features[existing].Kind = feature.Kind;
            _features[existing].First = feature.First;
            _features[existing].Count = feature.Count;
            return true;
        }

        if (FeatureCount == _features.Length)
        {
            Array.Resize(ref _features, _features.Length * 2);
        }

        _features[FeatureCount++] = feature;
        return true;
    }

    private bool ParseFeature(CodedInputStream input, int end, ref TfFeature feature)
    {
        while (input.Position < end)
        {
            var kind = input.ReadTag() switch
            {
                TagField1Len => TfFeatureKind.Bytes,
                TagField2Len => TfFeatureKind.Float,
                TagField3Len => TfFeatureKind.Int64,
                _ => TfFeatureKind.None,
            };
            if (kind == TfFeatureKind.None || feature.Kind != TfFeatureKind.None || !TryEnd(input, end, out var listEnd))
            {
                return false;
            }

            feature.Kind = kind;
            var ok = kind switch
            {
                TfFeatureKind.Bytes => ParseBytesList(input, listEnd, ref feature),
                TfFeatureKind.Float => ParseFloatList(input, listEnd, ref feature),
                _ => ParseInt64List(input, listEnd, ref feature),
            };
            if (!ok)
            {
                return false;
            }
        }

        return input.Position == end;
    }

    private bool ParseBytesList(CodedInputStream input, int end, ref TfFeature feature)
    {
        feature.First = BytesCount;
        while (input.Position < end)
        {
            if (input.ReadTag() != TagField1Len || !TrySkipBytes(input, end, out var start, out var length))
            {
                return false;
            }

            if (2 * BytesCount + 2 > _bytes.Length)
            {
                Array.Resize(ref _bytes, _bytes.Length * 2);
            }

            _bytes[2 * BytesCount] = start;
            _bytes[2 * BytesCount + 1] = length;
            BytesCount++;
        }

        feature.Count = BytesCount - feature.First;
        return input.Position == end;
    }

    private bool ParseFloatList(CodedInputStream input, int end, ref TfFeature feature)
    {
        feature.First = FloatCount;
        while (input.Position < end)
        {
            var tag = input.ReadTag();
            if (tag == TagField1Len)
            {
                var length = input.ReadLength();
                var packedEnd = input.Position + length;
                if (length < 0 || length % 4 != 0 || packedEnd > end)
                {
                    return false;
                }

                while (input.Position < packedEnd)
                {
                    AddFloat(input.ReadFloat());
                }
            }
            else if (tag == TagField1Fixed32)
            {
                AddFloat(input.ReadFloat());
            }
            else
            {
                return false;
            }
        }

        feature.Count = FloatCount - feature.First;
        return input.Position == end;
    }

    private void AddFloat(float value)
    {
        if (FloatCount == _floats.Length)
        {
            Array.Resize(ref _floats, _floats.Length * 2);
        }

        _floats[FloatCount++] = value;
    }

    private bool ParseInt64List(CodedInputStream input, int end, ref TfFeature feature)
    {
        feature.First = Int64Count;
        while (input.Position < end)
        {
            var tag = input.ReadTag();
            if (tag == TagField1Len)
            {
                if (!TryEnd(input, end, out var packedEnd))
                {
                    return false;
                }

                while (input.Position < packedEnd)
                {
                    AddInt64(input.ReadInt64());
                }

                if (input.Position != packedEnd)
                {
                    return false;
                }
            }
            else if (tag == TagField1Varint)
            {
                AddInt64(input.ReadInt64());
            }
            else
            {
                return false;
            }
        }

        feature.Count = Int64Count - feature.First;
        return input.Position == end;
    }

    private void AddInt64(long value)
    {
        if (Int64Count == _int64s.Length)
        {
            Array.Resize(ref _int64s, _int64s.Length * 2);
        }

        _int64s[Int64Count++] = value;
    }

    private static uint Hash(ReadOnlySpan<byte> key) => unchecked((uint)System.IO.Hashing.XxHash3.HashToUInt64(key));
}
