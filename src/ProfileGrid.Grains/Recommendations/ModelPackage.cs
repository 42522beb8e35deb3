using System.Text;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Algorithms;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>
/// What a trained recommender ships to every silo: the model (in the library's own format), the catalog as events
/// described it (items nobody upserted still have a category and a price for rules), and the version. Bytes, because
/// models are large and go to blob storage and over the wire once per silo per version.
/// </summary>
public sealed class ModelPackage
{
    private const int Magic = 0x4D524750; // "PGRM"
    // 2 added the weights' MinPositiveRating; a version 1 package was trained with every rating positive (0).
    private const byte FormatVersion = 2;

    public required long Version { get; init; }

    public required DateTimeOffset TrainedAt { get; init; }

    /// <summary>Items as events described them (<see cref="CatalogItem.FromEvents"/>), by id.</summary>
    public required IReadOnlyDictionary<string, CatalogItem> EventCatalog { get; init; }

    public required IRecommender Model { get; init; }

    /// <summary>The weights the model was trained with: serving weighs a user's history with the same.</summary>
    public required InteractionWeights Weights { get; init; }

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Version);
            writer.Write(TrainedAt.UtcTicks);
            writer.Write(Weights.View);
            writer.Write(Weights.AddToCart);
            writer.Write(Weights.Purchase);
            writer.Write(Weights.Rating);
            writer.Write(Weights.RatingScale);
            writer.Write(Weights.HalfLifeDays);
            writer.Write(Weights.MinPositiveRating);
            writer.Write(EventCatalog.Count);
            foreach (var item in EventCatalog.Values)
            {
                writer.Write(item.ItemId);
                WriteOptional(writer, item.Category);
                writer.Write(item.Price is not null);
                if (item.Price is { } price)
                {
                    writer.Write(price);
                }

                WriteOptional(writer, item.Currency);
            }

            writer.Flush();
            ModelFormat.Write(Model, buffer);
        }

        return buffer.ToArray();
    }

    public static ModelPackage FromBytes(byte[] bytes)
    {
        using var buffer = new MemoryStream(bytes, writable: false);
        using var reader = new BinaryReader(buffer, Encoding.UTF8, leaveOpen: true);
        if (reader.ReadInt32() != Magic || reader.ReadByte() is var format && format is not (1 or FormatVersion))
        {
            throw new InvalidDataException("Not a ProfileGrid recommender model package of a known format version.");
        }

        var version = reader.ReadInt64();
        var trainedAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var weights = new InteractionWeights
        {
            View = reader.ReadDouble(),
            AddToCart = reader.ReadDouble(),
            Purchase = reader.ReadDouble(),
            Rating = reader.ReadDouble(),
            RatingScale = reader.ReadDouble(),
            HalfLifeDays = reader.ReadDouble(),
        };
        if (format >= 2)
        {
            weights = weights with { MinPositiveRating = reader.ReadDouble() };
        }

        var count = reader.ReadInt32();
        var catalog = new Dictionary<string, CatalogItem>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadString();
            var category = ReadOptional(reader);
            decimal? price = reader.ReadBoolean() ? reader.ReadDecimal() : null;
            var currency = ReadOptional(reader);
            catalog[id] = new CatalogItem(id, category, price, currency, Available: true, [], EmptyAttributes, FromEvents: true);
        }

        var model = ModelFormat.Read(buffer);
        return new ModelPackage { Version = version, TrainedAt = trainedAt, EventCatalog = catalog, Model = model, Weights = weights };
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyAttributes = new Dictionary<string, string>();

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
