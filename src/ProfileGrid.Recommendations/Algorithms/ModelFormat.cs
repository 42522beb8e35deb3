using System.Runtime.InteropServices;
using System.Text;

namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>
/// The bytes of a trained model, as models travel between silos and rest in blob storage. Layout (little-endian):
/// magic "PGRM", format version (uint16), algorithm name (length-prefixed UTF-8), then the algorithm's arrays, each
/// an int32 length and its raw elements; strings are length-prefixed UTF-8. A hybrid nests its two components'
/// payloads, each after its algorithm name. Version 1 is the first; a reader rejects versions it does not know.
/// </summary>
public static class ModelFormat
{
    public const ushort Version = 1;

    private static ReadOnlySpan<byte> Magic => "PGRM"u8;

    public static void Write(IRecommender model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Models are written little-endian.");
        }

        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        WritePayload(writer, model);
    }

    public static byte[] ToBytes(IRecommender model)
    {
        using var buffer = new MemoryStream();
        Write(model, buffer);
        return buffer.ToArray();
    }

    /// <summary>Reads a model written by <see cref="Write"/>; <see cref="InvalidDataException"/> for anything else.</summary>
    public static IRecommender Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            Span<byte> magic = stackalloc byte[4];
            reader.BaseStream.ReadExactly(magic);
            if (!magic.SequenceEqual(Magic))
            {
                throw new InvalidDataException("Not a ProfileGrid recommender model (bad magic).");
            }

            var version = reader.ReadUInt16();
            if (version != Version)
            {
                throw new InvalidDataException($"Recommender model format version {version} is not supported (this build reads {Version}).");
            }

            return ReadPayload(reader);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The recommender model is truncated.", ex);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The recommender model is inconsistent: {ex.Message}", ex);
        }
    }

    public static IRecommender FromBytes(byte[] bytes)
    {
        using var buffer = new MemoryStream(bytes, writable: false);
        return Read(buffer);
    }

    private static void WritePayload(BinaryWriter writer, IRecommender model)
    {
        writer.Write(model.Algorithm);
        switch (model)
        {
            case PopularityModel p:
                writer.Write(p.GlobalSource);
                WriteStrings(writer, p.Items);
                WriteArray<int>(writer, p.GlobalItems);
                WriteArray<float>(writer, p.GlobalScores);
                WriteStrings(writer, [.. p.Segments]);
                for (var s = 0; s < p.Segments.Count; s++)
                {
                    WriteArray<int>(writer, p.SegmentItems[s]);
                    WriteArray<float>(writer, p.SegmentScores[s]);
                }

                break;
            case ItemCfModel cf:
                WriteStrings(writer, cf.Items);
                WriteArray<int>(writer, cf.NeighbourStart);
                WriteArray<int>(writer, cf.Neighbours);
                WriteArray<float>(writer, cf.Similarities);
                break;
            case EaseModel ease:
                WriteStrings(writer, [.. ease.Items]);
                writer.Write(ease.CatalogItems);
                writer.Write(ease.Lambda);
                WriteArray<double>(writer, [.. ease.LambdaGrid]);
                WriteArray<double>(writer, [.. ease.LambdaScores]);
                WriteArray<float>(writer, ease.Weights);
                break;
            case HybridModel hybrid:
                writer.Write(hybrid.LowHistoryItems);
                writer.Write(hybrid.PopularityFloor);
                WritePayload(writer, hybrid.Popularity);
                WritePayload(writer, hybrid.Personalized);
                break;
            default:
                throw new ArgumentException($"No binary format for {model.GetType().Name} ({model.Algorithm}).", nameof(model));
        }
    }

    private static IRecommender ReadPayload(BinaryReader reader)
    {
        var algorithm = reader.ReadString();
        switch (algorithm)
        {
            case RecommenderAlgorithms.Popularity or RecommenderAlgorithms.Trending:
            {
                var source = reader.ReadString();
                var items = ReadStrings(reader);
                var globalItems = ReadArray<int>(reader);
                var globalScores = ReadArray<float>(reader);
                var segments = ReadStrings(reader);
                var segmentItems = new int[segments.Length][];
                var segmentScores = new float[segments.Length][];
                for (var s = 0; s < segments.Length; s++)
                {
                    segmentItems[s] = ReadArray<int>(reader);
                    segmentScores[s] = ReadArray<float>(reader);
                }

                CheckIndices(globalItems, items.Length);
                if (globalItems.Length != globalScores.Length ||
                    segmentItems.Where((list, s) => list.Length != segmentScores[s].Length || !InRange(list, items.Length)).Any())
                {
                    throw new InvalidDataException("The popularity lists are inconsistent.");
                }

                return new PopularityModel(algorithm, source, items, globalItems, globalScores, segments, segmentItems, segmentScores);
            }

            case RecommenderAlgorithms.ItemCf:
            {
                var items = ReadStrings(reader);
                var start = ReadArray<int>(reader);
                var neighbours = ReadArray<int>(reader);
                var similarities = ReadArray<float>(reader);
                CheckIndices(neighbours, items.Length);
                if (start.Length != items.Length + 1 || start[0] != 0 || start.Zip(start.Skip(1)).Any(p => p.Second < p.First))
                {
                    throw new InvalidDataException("The neighbour offsets are inconsistent.");
                }

                return new ItemCfModel(items, start, neighbours, similarities);
            }

            case RecommenderAlgorithms.Ease:
            {
                var items = ReadStrings(reader);
                var catalogItems = reader.ReadInt32();
                var lambda = reader.ReadDouble();
                var grid = ReadArray<double>(reader);
                var scores = ReadArray<double>(reader);
                var weights = ReadArray<float>(reader);
                return new EaseModel(items, weights, lambda, catalogItems, grid, scores);
            }

            case RecommenderAlgorithms.Hybrid:
            {
                var lowHistory = reader.ReadInt32();
                var floor = reader.ReadDouble();
                var popularity = ReadPayload(reader) as PopularityModel ?? throw new InvalidDataException("A hybrid's first component must be popularity.");
                return new HybridModel(ReadPayload(reader), popularity, lowHistory, floor);
            }

            default:
                throw new InvalidDataException($"Unknown recommender algorithm '{algorithm}' in the model.");
        }
    }

    private static void WriteStrings(BinaryWriter writer, string[] values)
    {
        writer.Write(values.Length);
        foreach (var value in values)
        {
            writer.Write(value);
        }
    }

    private static string[] ReadStrings(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > reader.BaseStream.Length - reader.BaseStream.Position && reader.BaseStream.CanSeek)
        {
            throw new InvalidDataException($"A string list of {count} entries does not fit the model.");
        }

        var values = new string[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = reader.ReadString();
        }

        return values;
    }

    private static void WriteArray<T>(BinaryWriter writer, T[] values) where T : unmanaged
    {
        writer.Write(values.Length);
        writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static T[] ReadArray<T>(BinaryReader reader) where T : unmanaged
    {
        var count = reader.ReadInt32();
        var size = (long)count * Marshal.SizeOf<T>();
        if (count < 0 || (reader.BaseStream.CanSeek && size > reader.BaseStream.Length - reader.BaseStream.Position))
        {
            throw new InvalidDataException($"An array of {count} entries does not fit the model.");
        }

        var values = new T[count];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    private static void CheckIndices(int[] indices, int count)
    {
        if (!InRange(indices, count))
        {
            throw new InvalidDataException("An item index is outside the model's items.");
        }
    }

    private static bool InRange(int[] indices, int count) => indices.All(i => (uint)i < (uint)count);
}
