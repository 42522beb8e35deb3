using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Orleans.Serialization;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains;

/// <summary>
/// The compact byte form an idle profile keeps instead of its object graph (<see cref="ResidencyOptions.PackIdleAfter"/>):
/// the state in Orleans' binary format (as grain storage writes it), zstd-compressed at level 1.
/// </summary>
/// <remarks>
/// <para>
/// The first byte says how the state is encoded (a packed form lives only in its process, but any codec unpacks whatever
/// the setting), the next four the length of the serving section (<see cref="PackedServingInput"/>: consent and item
/// history, which <c>Recommend</c> reads without unpacking), then the section, then the state without its items: as it
/// is (0), or its length (4 bytes, little-endian) and its Brotli (1), Deflate (2) or zstd (3) stream. Unpacking compacts the profile as activation does
/// (<see cref="ProfileUpdater.Compact"/>): text shared with the other profiles again, no spare capacity.
/// </para>
/// <para>
/// zstd by measurement (bench.sh memory, the demo mix, 2,000 profiles): 2,843 bytes on average against 3,010 for Deflate,
/// 2,943 for Brotli at quality 1 and 5,494 uncompressed, for about Deflate's CPU (packing 31 us, unpacking 24 us), and
/// without an encoder's set-up per pack: Deflate creates one for every pack, which a trace of a million profiles going
/// idle showed as 14% of the host's samples. ZstdSharp is a managed port of zstd (already in the host through Parquet.Net).
/// </para>
/// </remarks>
public sealed class ProfilePacker(Serializer<UserProfileGrainState> serializer)
{
    private const byte Raw = 0;
    private const byte Brotli = 1;
    private const byte Deflate = 2;
    private const byte Zstd = 3;

    // Quality 1 is Brotli's fastest; a 64 KiB window covers any state that is ever packed whole (rows stay under 960 KB, and
    // the demo mix's largest is 14 KB): a bigger one costs the decoder memory for nothing.
    private const int BrotliQuality = 1;
    private const int BrotliWindow = 16;

    private long _packed;
    private long _unpacked;
    private long _packedBytes;

    /// <summary>How <see cref="Pack"/> compresses (the default chosen by measurement: see docs/benchmarks.md); any form unpacks.</summary>
    public ProfilePackCodec Codec { get; init; } = ProfilePackCodec.Zstd;

    /// <summary>Profiles of this silo packed now, and the bytes they hold (for the memory benchmark and diagnostics).</summary>
    public (long Profiles, long Bytes) Resident => (Interlocked.Read(ref _packed) - Interlocked.Read(ref _unpacked), Interlocked.Read(ref _packedBytes));

    public byte[] Pack(UserProfileGrainState state)
    {
        ArgumentNullException.ThrowIfNull(state);

        // Both buffers are the thread's own and reused, so a pack allocates its result and nothing else of its size: a
        // million profiles going idle after a bulk load would otherwise leave three or four times their packed bytes
        // as garbage.
        var output = Rent(ref t_output);
        var serialized = Rent(ref t_serialized);
        try
        {
            output.GetSpan(HeaderBytes)[0] = Codec switch { ProfilePackCodec.Brotli => Brotli, ProfilePackCodec.Deflate => Deflate, ProfilePackCodec.Zstd => Zstd, _ => Raw };
            output.Advance(HeaderBytes);
            PackedServingInput.Write(output, state.Profile);
            var sectionLength = output.WrittenCount - HeaderBytes;

            // The items travel in the section: the compressed state holds the rest of the profile only.
            var behavior = state.Profile.Behavior;
            var items = behavior.Items;
            behavior.Items = NoItems;
            try
            {
                serializer.Serialize(state, serialized);
            }
            finally
            {
                behavior.Items = items;
            }

            var codec = output.WrittenSpan[0];
            var compressed = codec switch
            {
                Brotli => BrotliCompressed(serialized.WrittenSpan, output),
                Deflate => DeflateCompressed(serialized.WrittenSpan, output),
                Zstd => ZstdCompressed(serialized.WrittenSpan, output),
                _ => false,
            };
            if (!compressed)
            {
                output.Write(serialized.WrittenSpan);
            }

            var packed = output.WrittenSpan.ToArray();
            packed[0] = compressed ? codec : Raw;
            BinaryPrimitives.WriteInt32LittleEndian(packed.AsSpan(1), sectionLength);
            Interlocked.Increment(ref _packed);
            Interlocked.Add(ref _packedBytes, packed.Length);
            return packed;
        }
        finally
        {
            Return(ref t_output, output);
            Return(ref t_serialized, serialized);
        }
    }

    // A buffer kept per thread, taken out while in use. One that grew past KeptBufferBytes (a rare large profile) is let
    // go rather than held by the thread for good.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_output;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_serialized;
    private const int KeptBufferBytes = 256 * 1024;

    private static ArrayBufferWriter<byte> Rent(ref ArrayBufferWriter<byte>? kept)
    {
        var buffer = kept ?? new ArrayBufferWriter<byte>(16 * 1024);
        kept = null;
        buffer.ResetWrittenCount();
        return buffer;
    }

    private static void Return(ref ArrayBufferWriter<byte>? kept, ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity <= KeptBufferBytes)
        {
            kept = buffer;
        }
    }

    public UserProfileGrainState Unpack(byte[] packed)
    {
        var state = ReadCopy(packed);

        // As on activation: the deserialized profile holds text of its own.
        ProfileUpdater.Compact(state.Profile);
        Interlocked.Increment(ref _unpacked);
        Interlocked.Add(ref _packedBytes, -packed.Length);
        return state;
    }

    /// <summary>
    /// A copy of the packed state to read from while the profile stays packed (a read view is built from it, then it is
    /// dropped): neither compacted nor counted as unpacked.
    /// </summary>
    public UserProfileGrainState ReadCopy(byte[] packed)
    {
        ArgumentNullException.ThrowIfNull(packed);
        var state = Read(packed);
        PackedServingInput.Restore(Section(packed), state.Profile.Behavior.Items = new Dictionary<string, ItemStats>(StringComparer.Ordinal));
        return state;
    }

    /// <summary>What <c>Recommend</c> reads of a packed profile (its consent flag and item history), without unpacking it.</summary>
    public static (bool? PersonalizationOptIn, bool EventsApplied, ItemInteractionView[] Items, ShownItem[]? Ignored, UserTargeting? Targeting, uint[]? ForgottenOwned, ExperimentVariant[]? ExposedVariants) ReadServingInput(byte[] packed, bool withTargeting = false) =>
        PackedServingInput.ReadServingInput(Section(packed), withTargeting);

    // The codec byte, then the length of the serving section.
    private const int HeaderBytes = 5;

    private static readonly Dictionary<string, ItemStats> NoItems = new(StringComparer.Ordinal);

    private static ReadOnlySpan<byte> Section(byte[] packed) =>
        packed.AsSpan(HeaderBytes, BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(1)));

    private UserProfileGrainState Read(byte[] packed)
    {
        var body = HeaderBytes + BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(1));
        switch (packed[0])
        {
            case Raw:
                return serializer.Deserialize(packed.AsMemory(body)) ?? throw new InvalidDataException("A packed profile state holds no state.");
            case Brotli:
                var length = BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(body));
                var buffer = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    if (!BrotliDecoder.TryDecompress(packed.AsSpan(body + 4), buffer, out var written) || written != length)
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
                var size = BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(body));
                var inflated = ArrayPool<byte>.Shared.Rent(size);
                try
                {
                    using (var stream = new DeflateStream(new MemoryStream(packed, body + 4, packed.Length - body - 4, writable: false), CompressionMode.Decompress))
                    {
                        stream.ReadExactly(inflated, 0, size);
                    }

                    return serializer.Deserialize(inflated.AsMemory(0, size)) ?? throw new InvalidDataException("A packed profile state holds no state.");
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(inflated);
                }

            case Zstd:
                var original = BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(body));
                var decompressed = ArrayPool<byte>.Shared.Rent(original);
                try
                {
                    if (ZstdFrames.Decompress(packed.AsSpan(body + 4), decompressed) != original)
                    {
                        throw new InvalidDataException($"A packed profile state does not decompress to its {original} bytes.");
                    }

                    return serializer.Deserialize(decompressed.AsMemory(0, original)) ?? throw new InvalidDataException("A packed profile state holds no state.");
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(decompressed);
                }

            default:
                throw new InvalidDataException($"A packed profile state has unknown encoding {packed[0]}.");
        }
    }

    /// <summary>Appends the state's length and its Deflate stream; false (nothing appended) when that would not be smaller.</summary>
    private static bool DeflateCompressed(ReadOnlySpan<byte> serialized, ArrayBufferWriter<byte> output)
    {
        using var compressed = new MemoryStream(serialized.Length / 2 + 16);
        using (var stream = new DeflateStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            stream.Write(serialized);
        }

        if (compressed.Length + 4 >= serialized.Length)
        {
            return false;
        }

        BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), serialized.Length);
        output.Advance(4);
        compressed.GetBuffer().AsSpan(0, (int)compressed.Length).CopyTo(output.GetSpan((int)compressed.Length));
        output.Advance((int)compressed.Length);
        return true;
    }

    /// <summary>Appends the state's length and its zstd frame; false (nothing appended) when that would not be smaller.</summary>
    private static bool ZstdCompressed(ReadOnlySpan<byte> serialized, ArrayBufferWriter<byte> output)
    {
        // zstd reuses its context per thread (ZstdFrames), where Deflate sets up an encoder per pack: zlib allocates and
        // clears about 256 KB per stream, most of its cost for states of a few KB.
        var target = output.GetSpan(4 + ZstdFrames.Bound(serialized.Length));
        var written = ZstdFrames.Compress(serialized, target[4..]);
        if (written + 4 >= serialized.Length)
        {
            return false; // incompressible: kept as it is
        }

        BinaryPrimitives.WriteInt32LittleEndian(target, serialized.Length);
        output.Advance(4 + written);
        return true;
    }

    /// <summary>Appends the state's length and its Brotli stream; false (nothing appended) when that would not be smaller.</summary>
    private static bool BrotliCompressed(ReadOnlySpan<byte> serialized, ArrayBufferWriter<byte> output)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(serialized.Length));
        try
        {
            if (!BrotliEncoder.TryCompress(serialized, buffer, out var written, BrotliQuality, BrotliWindow) || written + 4 >= serialized.Length)
            {
                return false; // incompressible: kept as it is
            }

            BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), serialized.Length);
            output.Advance(4);
            buffer.AsSpan(0, written).CopyTo(output.GetSpan(written));
            output.Advance(written);
            return true;
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

    /// <summary>zstd at level 1, with a compression context reused per thread.</summary>
    Zstd,
}
