using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Orleans.Serialization;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains;

/// <summary>
/// The compact byte form an idle profile keeps instead of its object graph (<see cref="ResidencyOptions.PackIdleAfter"/>):
/// the state in Orleans' binary format (as grain storage writes it), Brotli-compressed at its fastest setting.
/// </summary>
/// <remarks>
/// The first byte says how the rest is encoded, so a packed form never needs to outlive its process to stay readable,
/// yet either codec can be chosen without a format break: 0 for the serialized state as is, 1 for its length (4 bytes,
/// little-endian) and then the Brotli stream. Unpacking compacts the profile as activation does
/// (<see cref="ProfileUpdater.Compact"/>): text shared with the other profiles again, no spare capacity.
/// </remarks>
public sealed class ProfilePacker(Serializer<UserProfileGrainState> serializer)
{
    private const byte Raw = 0;
    private const byte Brotli = 1;

    // Quality 1 is Brotli's fastest; a 64 KiB window covers any state that is ever packed whole (rows stay under 960 KB, and
    // the demo mix's largest is 14 KB): a bigger one costs the decoder memory for nothing.
    private const int BrotliQuality = 1;
    private const int BrotliWindow = 16;

    private long _packed;
    private long _unpacked;
    private long _packedBytes;

    /// <summary>Whether <see cref="Pack"/> compresses (the default, chosen by measurement: see docs/benchmarks.md).</summary>
    public bool Compress { get; init; } = true;

    /// <summary>Profiles of this silo packed now, and the bytes they hold (for the memory benchmark and diagnostics).</summary>
    public (long Profiles, long Bytes) Resident => (Interlocked.Read(ref _packed) - Interlocked.Read(ref _unpacked), Interlocked.Read(ref _packedBytes));

    public byte[] Pack(UserProfileGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var serialized = serializer.SerializeToArray(state);
        var packed = Compress ? Compressed(serialized) : [Raw, .. serialized];
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

            default:
                throw new InvalidDataException($"A packed profile state has unknown encoding {packed[0]}.");
        }
    }

    private static byte[] Compressed(byte[] serialized)
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
