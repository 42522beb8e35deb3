using System.Globalization;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Contracts.V1;
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

            if (wire.Currency is not { Length: 3 } code || !code.All(char.IsAsciiLetter))
            {
                (rejection.Field, rejection.Reason) = ($"{path}.currency", $"an ISO 4217 code (e.g. EUR) is required with a price ('{wire.Currency}')");
                return false;
            }

            price = parsed;
        }

        item = new CatalogItemView
        {
            ItemId = wire.ItemId,
            Category = wire.Category.Length == 0 ? null : wire.Category.Trim().ToLowerInvariant(),
            Price = price,
            Currency = price is null ? null : wire.Currency.ToUpperInvariant(),
            Available = !wire.HasAvailable || wire.Available,
            Tags = wire.Tags.Select(t => t.Trim().ToLowerInvariant()).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToArray(),
            Attributes = new Dictionary<string, string>(wire.Attributes, StringComparer.Ordinal),
            UpdatedAt = now,
        };
        return true;
    }

    public static WireCatalogItem ToProto(CatalogItemView item)
    {
        var proto = new WireCatalogItem
        {
            ItemId = item.ItemId,
            Category = item.Category ?? "",
            Price = item.Price?.ToString(CultureInfo.InvariantCulture) ?? "",
            Currency = item.Currency ?? "",
            Available = item.Available,
            UpdatedAt = item.UpdatedAt.ToString("O", CultureInfo.InvariantCulture),
        };
        proto.Tags.AddRange(item.Tags);
        proto.Attributes.Add(item.Attributes);
        return proto;
    }

    public static WireCatalogItem ToProto(Recommendations.CatalogItem item)
    {
        var proto = new WireCatalogItem
        {
            ItemId = item.ItemId,
            Category = item.Category ?? "",
            Price = item.Price?.ToString(CultureInfo.InvariantCulture) ?? "",
            Currency = item.Currency ?? "",
            Available = item.Available,
            FromEvents = item.FromEvents,
        };
        proto.Tags.AddRange(item.Tags);
        foreach (var (key, value) in item.Attributes)
        {
            proto.Attributes[key] = value;
        }

        return proto;
    }
}
