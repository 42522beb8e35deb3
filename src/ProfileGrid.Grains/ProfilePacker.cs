using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Orleans.Serialization;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains;

/// <summary>
/// The compact byte form an idle profile keeps instead of its object graph (<see cref="ResidencyOptions.PackIdleAfter"/>):
/// the state in Orleans' binary format (as grain storage writes it), Deflate-compressed at its fastest level.
/// </summary>
/// <remarks>
/// <para>
/// The first byte says how the rest is encoded (a packed form lives only in its process, but any codec unpacks whatever
/// the setting): 0 for the serialized state as is; 1 (Brotli) or 2 (Deflate) for its length (4 bytes, little-endian)
/// and then the compressed stream. Unpacking compacts the profile as activation does
/// (<see cref="ProfileUpdater.Compact"/>): text shared with the other profiles again, no spare capacity.
/// </para>
/// <para>
/// Deflate by measurement (bench.sh memory, the demo mix): 2,493 bytes on average against 4,482 uncompressed and 2,437 for
/// Brotli at quality 1, unpacking in about 31 us against 16 us and 60 us, packing in 40 us against 13 us and 68 us.
/// </para>
/// </remarks>
public sealed class ProfilePacker(Serializer<UserProfileGrainState> serializer)
{
    private const byte Raw = 0;
    private const byte Brotli = 1;
    private const byte Deflate = 2;

    // Quality 1 is Brotli's fastest; a 64 KiB window covers any state that is ever packed whole (rows stay under 960 KB, and
    // the demo mix's largest is 14 KB): a bigger one costs the decoder memory for nothing.
    private const int BrotliQuality = 1;
    private const int BrotliWindow = 16;

    private long _packed;
    private long _unpacked;
    private long _packedBytes;

    /// <summary>How <see cref="Pack"/> compresses (the default chosen by measurement: see docs/benchmarks.md); any form unpacks.</summary>
    public ProfilePackCodec Codec { get; init; } = ProfilePackCodec.Deflate;

    /// <summary>Profiles of this silo packed now, and the bytes they hold (for the memory benchmark and diagnostics).</summary>
    public (long Profiles, long Bytes) Resident => (Interlocked.Read(ref _packed) - Interlocked.Read(ref _unpacked), Interlocked.Read(ref _packedBytes));

    public byte[] Pack(UserProfileGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var serialized = serializer.SerializeToArray(state);
        var packed = Codec switch
        {
            ProfilePackCodec.Brotli => BrotliCompressed(serialized),
            ProfilePackCodec.Deflate => DeflateCompressed(serialized),
            _ => [Raw, .. serialized],
        };
        Interlocked.Increment(ref _packed);
        Interlocked.Add(ref _packedBytes, packed.Length);
        return packed;
    }

    public UserProfileGrainState Unpack(byte[] packed)
    {
        ArgumentNullException.ThrowIfNull(packed);
        var state = Read(packed);

        // As on activation: the deserialized profile holds text of its own.
        ProfileUpdater.Compact(state.Profile);
        Interlocked.Increment(ref _unpacked);
        Interlocked.Add(ref _packedBytes, -packed.Length);
        return state;
    }

    private UserProfileGrainState Read(byte[] packed)
    {
        switch (packed[0])
        {
            case Raw:
                return serializer.Deserialize(packed.AsMemory(1)) ?? throw new InvalidDataException("A packed profile state holds no state.");
            case Brotli:
                var length = BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(1));
                var buffer = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    if (!BrotliDecoder.TryDecompress(packed.AsSpan(5), buffer, out var written) || written != length)
                    {
                        throw new InvalidDataException($"A packed profile state does not decompress to its {length} bytes.");
                    }

                    return serializer.Deserialize(buffer.AsMemory(0, length)) ?? throw new InvalidDataException("A packed profile state holds no state.");
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

            case Deflate:
                var size = BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(1));
                var inflated = ArrayPool<byte>.Shared.Rent(size);
                try
                {
                    using (var stream = new DeflateStream(new MemoryStream(packed, 5, packed.Length - 5, writable: false), CompressionMode.Decompress))
                    {
                        stream.ReadExactly(inflated, 0, size);
                    }

                    return serializer.Deserialize(inflated.AsMemory(0, size)) ?? throw new InvalidDataException("A packed profile state holds no state.");
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(inflated);
                }

            default:
                throw new InvalidDataException($"A packed profile state has unknown encoding {packed[0]}.");
        }
    }

    private static byte[] DeflateCompressed(byte[] serialized)
    {
        using var output = new MemoryStream(serialized.Length / 2 + 16);
        output.WriteByte(Deflate);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, serialized.Length);
        output.Write(length);
        using (var stream = new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            stream.Write(serialized);
        }

        return output.Length - 5 < serialized.Length ? output.ToArray() : [Raw, .. serialized];
    }

    private static byte[] BrotliCompressed(byte[] serialized)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(5 + BrotliEncoder.GetMaxCompressedLength(serialized.Length));
        try
        {
            if (!BrotliEncoder.TryCompress(serialized, buffer.AsSpan(5), out var written, BrotliQuality, BrotliWindow) || written >= serialized.Length)
            {
                return [Raw, .. serialized]; // incompressible: kept as it is
            }

            buffer[0] = Brotli;
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(1), serialized.Length);
            return buffer.AsSpan(0, 5 + written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>How a packed profile state is compressed.</summary>
public enum ProfilePackCodec
{
    /// <summary>The serialized state as it is.</summary>
    None,

    /// <summary>Brotli at quality 1 (its fastest), 64 KiB window.</summary>
    Brotli,

    /// <summary>Deflate (zlib) at its fastest level.</summary>
    Deflate,
}
