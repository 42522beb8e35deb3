namespace ProfileGrid.Grains;

/// <summary>
/// zstd frames at level 1, zstd's fastest standard level, for packing idle profiles (<see cref="ProfilePacker"/>) and
/// for storing profile rows. A compression and a decompression context are kept per thread and reused: a new one per
/// call would cost more than compressing a state of a few KB.
/// </summary>
public static class ZstdFrames
{
    private const int Level = 1;

    [ThreadStatic] private static ZstdSharp.Compressor? t_compressor;
    [ThreadStatic] private static ZstdSharp.Decompressor? t_decompressor;

    /// <summary>The most bytes a frame of <paramref name="length"/> bytes can take: the destination <see cref="Compress"/> needs.</summary>
    public static int Bound(int length) => ZstdSharp.Compressor.GetCompressBound(length);

    /// <summary>Writes <paramref name="source"/>'s frame into <paramref name="destination"/> (at least <see cref="Bound"/> long); returns its length.</summary>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination) =>
        (t_compressor ??= new ZstdSharp.Compressor(Level)).Wrap(source, destination);

    /// <summary>Writes the bytes of <paramref name="frame"/> into <paramref name="destination"/>; returns how many.</summary>
    public static int Decompress(ReadOnlySpan<byte> frame, Span<byte> destination) =>
        (t_decompressor ??= new ZstdSharp.Decompressor()).Unwrap(frame, destination);
}
