using System.Globalization;
using System.Text.Json.Serialization;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Recommendations.Catalog;

/// <summary>One item of a catalog upsert as the client sends it (wire names snake_case).</summary>
public sealed record CatalogItemUpsert
{
    /// <summary>1-256 characters, no control characters, no white space at either end; the id events carry.</summary>
    [JsonPropertyName("item_id")]
    public string? ItemId { get; init; }

    /// <summary>Category code; stored trimmed and lower-case (as the gateway stores event categories).</summary>
    [JsonPropertyName("category")]
    public string? Category { get; init; }

    /// <summary>Unit price, 0 or more; needs <see cref="Currency"/>.</summary>
    [JsonPropertyName("price")]
    public decimal? Price { get; init; }

    /// <summary>ISO 4217 code (any case; stored upper-case). Required with a price.</summary>
    [JsonPropertyName("currency")]
    public string? Currency { get; init; }

    /// <summary>False: never recommended nor pinned. Default true.</summary>
    [JsonPropertyName("available")]
    public bool? Available { get; init; }

    /// <summary>At most 32, each at most 64 characters; stored trimmed, lower-case, without repeats.</summary>
    [JsonPropertyName("tags")]
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>At most 64 pairs; keys 1-64 characters, values at most 1024; returned as given.</summary>
    [JsonPropertyName("attributes")]
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }
}

/// <summary>A catalog upsert after validation: the items to store, and the items refused with every reason.</summary>
/// <param name="Accepted">Valid items, normalised, in request order (one bad item does not hold the others back).</param>
/// <param name="Problems">Each problem naming its field with the item's index (<c>items[3].price</c>).</param>
/// <param name="Rejected">Indices of the refused items (ascending).</param>
public sealed record CatalogValidation(IReadOnlyList<CatalogItem> Accepted, IReadOnlyList<FieldProblem> Problems, IReadOnlyList<int> Rejected);

/// <summary>
/// Validates catalog upserts item by item: a bad item is refused with its index and reasons and the rest are accepted
/// (architecture invariant 6). A request over <see cref="MaxItemsPerRequest"/> is refused whole.
/// </summary>
public static class CatalogValidator
{
    public const int MaxItemsPerRequest = 10_000;
    public const int MaxItemIdLength = 256;
    public const int MaxCategoryLength = 256;
    public const int MaxTags = 32;
    public const int MaxTagLength = 64;
    public const int MaxAttributes = 64;
    public const int MaxAttributeKeyLength = 64;
    public const int MaxAttributeValueLength = 1024;

    /// <summary>As the gateway bounds a unit price (GatewayOptions.MaxUnitPrice's default).</summary>
    public const decimal MaxPrice = 10_000_000m;

    /// <summary>
    /// Why an item id with white space at either end is refused, or null when it has none. Ids are matched exactly, so
    /// an item upserted as " i1 " would be another item than the "i1" events name; the gateway refuses such product ids
    /// in events too, so neither side can create the other's near twin.
    /// </summary>
    public static string? WhiteSpaceProblem(string itemId) =>
        itemId.Length > 0 && (char.IsWhiteSpace(itemId[0]) || char.IsWhiteSpace(itemId[^1]))
            ? $"'{TextChecks.Truncate(itemId)}' begins or ends with white space; item ids are matched exactly, so send it without"
            : null;

    /// <summary>Why an item id cannot name an item as it is (white space at an end, or a dot segment); null when it can.</summary>
    public static string? ItemIdShapeProblem(string itemId) => WhiteSpaceProblem(itemId) ?? TextChecks.DotSegmentProblem(itemId);

    public static CatalogValidation Validate(IReadOnlyList<CatalogItemUpsert?> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count > MaxItemsPerRequest)
        {
            return new CatalogValidation(
                [], [new FieldProblem("items", $"holds {items.Count} items; the limit is {MaxItemsPerRequest} per request")], Enumerable.Range(0, items.Count).ToArray());
        }

        var accepted = new List<CatalogItem>(items.Count);
        var problems = new List<FieldProblem>();
        var rejected = new List<int>();
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var before = problems.Count;
            var item = Check(items[i], $"items[{i}]", problems);
            // The same id twice in one request is ambiguous (which one wins?): the later one is refused.
            if (item is not null && !firstIndex.TryAdd(item.ItemId, i))
            {
                problems.Add(new FieldProblem($"items[{i}].item_id", $"'{TextChecks.Truncate(item.ItemId)}' repeats items[{firstIndex[item.ItemId]}].item_id"));
            }

            if (problems.Count == before && item is not null)
            {
                accepted.Add(item);
            }
            else
            {
                rejected.Add(i);
            }
        }

        return new CatalogValidation(accepted, problems, rejected);
    }

    /// <summary>One item, its fields named <c><paramref name="path"/>.…</c>; null (with problems) when invalid.</summary>
    public static CatalogItem? Check(CatalogItemUpsert? upsert, string path, List<FieldProblem> problems)
    {
        if (upsert is null)
        {
            problems.Add(new FieldProblem(path, "is required (null item)"));
            return null;
        }

        var before = problems.Count;
        void Fail(string field, string reason) => problems.Add(new FieldProblem($"{path}.{field}", reason));

        if ((TextChecks.IdProblem(upsert.ItemId, MaxItemIdLength) ?? ItemIdShapeProblem(upsert.ItemId!)) is { } idProblem)
        {
            Fail("item_id", idProblem);
        }

        var category = TextChecks.Code(upsert.Category);
        if (category is not null && category.Length > MaxCategoryLength)
        {
            Fail("category", $"is {category.Length} characters long; the limit is {MaxCategoryLength}");
        }
        else if (category is not null && TextChecks.HasControlCharacters(category))
        {
            Fail("category", "contains control characters");
        }

        string? currency = null;
        if (upsert.Price is { } price)
        {
            if (price < 0)
            {
                Fail("price", $"must be 0 or more ({price.ToString(CultureInfo.InvariantCulture)})");
            }
            else if (price > MaxPrice)
            {
                Fail("price", $"must be at most {MaxPrice.ToString(CultureInfo.InvariantCulture)} ({price.ToString(CultureInfo.InvariantCulture)})");
            }
        }

        if (!string.IsNullOrWhiteSpace(upsert.Currency))
        {
            currency = Iso4217.Normalize(upsert.Currency);
            if (currency is null)
            {
                Fail("currency", $"'{TextChecks.Truncate(upsert.Currency)}' is not an ISO 4217 currency code (e.g. EUR)");
            }
        }
        else if (upsert.Price is not null)
        {
            Fail("currency", "is required with a price (ISO 4217, e.g. EUR)");
        }

        var tags = new List<string>();
        if (upsert.Tags is { } givenTags)
        {
            if (givenTags.Count > MaxTags)
            {
                Fail("tags", $"lists {givenTags.Count} tags; the limit is {MaxTags}");
            }

            for (var t = 0; t < givenTags.Count; t++)
            {
                var tag = TextChecks.Code(givenTags[t]);
                if (tag is null)
                {
                    Fail($"tags[{t}]", "is blank");
                }
                else if (tag.Length > MaxTagLength)
                {
                    Fail($"tags[{t}]", $"is {tag.Length} characters long; the limit is {MaxTagLength}");
                }
                else if (TextChecks.HasControlCharacters(tag))
                {
                    Fail($"tags[{t}]", "contains control characters");
                }
                else if (!tags.Contains(tag))
                {
                    tags.Add(tag);
                }
            }
        }

        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (upsert.Attributes is { } givenAttributes)
        {
            if (givenAttributes.Count > MaxAttributes)
            {
                Fail("attributes", $"holds {givenAttributes.Count} pairs; the limit is {MaxAttributes}");
            }

            // Sorted so that the first problem reported does not depend on the dictionary's order.
            foreach (var (key, value) in givenAttributes.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (TextChecks.IdProblem(key, MaxAttributeKeyLength) is { } keyProblem)
                {
                    Fail($"attributes[{Quote(key)}]", "key " + keyProblem);
                }
                else if (value is null)
                {
                    Fail($"attributes[{Quote(key)}]", "value is required (null)");
                }
                else if (TextChecks.TextProblem(value, MaxAttributeValueLength) is { } valueProblem)
                {
                    Fail($"attributes[{Quote(key)}]", "value " + valueProblem);
                }
                else
                {
                    attributes[key] = value;
                }
            }
        }

        if (problems.Count > before)
        {
            return null;
        }

        // A price keeps its currency; a currency without a price says nothing and is not kept.
        return new CatalogItem(
            upsert.ItemId!, category, upsert.Price, upsert.Price is null ? null : currency, upsert.Available ?? true, tags, attributes, FromEvents: false);
    }

    private static string Quote(string? key) => key is null ? "null" : $"\"{TextChecks.Truncate(key)}\"";
}
