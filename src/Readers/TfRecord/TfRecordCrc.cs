using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OrleansShards.Readers.TfRecord;

/// <summary>
/// The checksums of the TFRecord framing: CRC32C (Castagnoli) computed with the processor's CRC32C instruction through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> (SSE4.2 on x64, the CRC extension on Arm64; .NET falls back to
/// software elsewhere), eight bytes at a time, and masked as TensorFlow masks it.
/// </summary>
internal static class TfRecordCrc
{
    private const uint MaskDelta = 0xa282ead8u;

    /// <summary>The CRC32C of <paramref name="data"/> (initial value and final XOR of all ones).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(~0u, data);

    /// <summary>Continues a raw (un-inverted) CRC32C state over <paramref name="data"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        ref var start = ref MemoryMarshal.GetReference(data);
        var length = (nuint)data.Length;
        nuint i = 0;
        for (; i + 32 <= length; i += 32)
        {
            crc = BitOperations.Crc32C(crc, ReadUInt64(ref start, i));
            crc = BitOperations.Crc32C(crc, ReadUInt64(ref start, i + 8));
            crc = BitOperations.Crc32C(crc, ReadUInt64(ref start, i + 16));
            crc = BitOperations.Crc32C(crc, ReadUInt64(ref start, i + 24));
        }

        for (; i + 8 <= length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, ReadUInt64(ref start, i));
        }

        if (i + 4 <= length)
        {
            var value = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, i));
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));
            i += 4;
        }

        for (; i < length; i++)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.Add(ref start, i));
        }

        return crc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadUInt64(ref byte start, nuint offset)
    {
        var value = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, offset));
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    /// <summary>TensorFlow's mask: rotate right by 15 bits and add a constant.</summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + MaskDelta);

    /// <summary>The masked CRC32C of <paramref name="data"/>, as a TFRecord stores it.</summary>
    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Compute(data));

    /// <summary>The masked CRC32C of the eight little-endian bytes of a record length.</summary>
    public static uint MaskedLength(ulong length) => Mask(~BitOperations.Crc32C(~0u, length));
}
