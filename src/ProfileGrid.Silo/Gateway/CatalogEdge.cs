using System.Globalization;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Recommendations.Catalog;
using ProfileGrid.Recommendations.Rules;
using WireCatalogItem = ProfileGrid.Contracts.V1.CatalogItem;

namespace ProfileGrid.Silo.Gateway;

/// <summary>Catalog items at the edge: wire items validated into the contract's, and back.</summary>
internal static class CatalogEdge
{
    public static bool TryValidate(WireCatalogItem wire, int index, EventValidator validator, DateTimeOffset now, out CatalogItemView? item, out ItemRejection rejection)
    {
        item = null;
        rejection = new ItemRejection { Index = index };
        var path = $"items[{index}]";
        if (!validator.TryValidateItemId(wire.ItemId, $"{path}.item_id", out var error))
        {
            (rejection.Field, rejection.Reason) = (error!.Field, error.Reason);
            return false;
        }

        decimal? price = null;
        if (wire.Price.Length > 0)
        {
            if (!decimal.TryParse(wire.Price, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed))
            {
                (rejection.Field, rejection.Reason) = ($"{path}.price", $"must be a decimal string such as \"19.99\", 0 or more ('{wire.Price}')");
                return false;
            }

            price = parsed;
        }

        // The catalog's own rules (normalised codes, ISO 4217 with a price, bounded tags and attributes).
        var problems = new List<FieldProblem>();
        var checkedItem = CatalogValidator.Check(new CatalogItemUpsert
        {
            ItemId = wire.ItemId,
            Category = wire.Category.Length == 0 ? null : wire.Category,
            Price = price,
            Currency = wire.Currency.Length == 0 ? null : wire.Currency,
            Available = wire.HasAvailable ? wire.Available : null,
            Tags = wire.Tags,
            Attributes = wire.Attributes,
        }, path, problems);
        if (checkedItem is null)
        {
            var first = problems.FirstOrDefault();
            (rejection.Field, rejection.Reason) = (first?.Field ?? path, string.Join("; ", problems.Select(p => p.Field == first?.Field ? p.Reason : p.ToString())));
            return false;
        }

        item = new CatalogItemView
        {
            ItemId = checkedItem.ItemId,
            Category = checkedItem.Category,
            Price = checkedItem.Price,
            Currency = checkedItem.Currency,
            Available = checkedItem.Available,
            Tags = checkedItem.Tags.ToArray(),
            Attributes = new Dictionary<string, string>(checkedItem.Attributes, StringComparer.Ordinal),
            UpdatedAt = now,
        };
        return true;
    }

    public static WireCatalogItem ToProto(CatalogItemView item)
    {
        var proto = new WireCatalogItem
        {
            ItemId = item.ItemId,
            Available = item.Available,
            UpdatedAt = WireTime.Of(item.UpdatedAt),
            Deleted = item.Deleted,
        };
        SetKnown(proto, item.Category, item.Price, item.Currency);
        proto.Tags.AddRange(item.Tags);
        proto.Attributes.Add(item.Attributes);
        return proto;
    }

    public static WireCatalogItem ToProto(Recommendations.CatalogItem item)
    {
        var proto = new WireCatalogItem
        {
            ItemId = item.ItemId,
            Available = item.Available,
            FromEvents = item.FromEvents,
        };
        SetKnown(proto, item.Category, item.Price, item.Currency);
        proto.Tags.AddRange(item.Tags);
        foreach (var (key, value) in item.Attributes)
        {
            proto.Attributes[key] = value;
        }

        return proto;
    }

    /// <summary>Unknown category and price stay out of the answer (optional fields set to "" would be written).</summary>
    private static void SetKnown(WireCatalogItem proto, string? category, decimal? price, string? currency)
    {
        if (category is not null)
        {
            proto.Category = category;
        }

        if (price is { } known)
        {
            proto.Price = known.ToString(CultureInfo.InvariantCulture);
            if (currency is not null)
            {
                proto.Currency = currency;
            }
        }
    }
}
