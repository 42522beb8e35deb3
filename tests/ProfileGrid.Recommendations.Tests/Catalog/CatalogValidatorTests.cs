using ProfileGrid.Recommendations.Catalog;

namespace ProfileGrid.Recommendations.Tests.Catalog;

public class CatalogValidatorTests
{
    private static CatalogItemUpsert Good(string id) => new() { ItemId = id, Category = "shoes", Price = 10, Currency = "EUR" };

    private static IReadOnlyList<string> Problems(params CatalogItemUpsert?[] items) =>
        CatalogValidator.Validate(items).Problems.Select(p => p.ToString()).ToArray();

    [Fact]
    public void A_valid_item_is_stored_normalised()
    {
        var upsert = new CatalogItemUpsert
        {
            ItemId = "SKU-1",
            Category = "  Running Shoes ",
            Price = 129.90m,
            Currency = "eur",
            Tags = ["Premium", " premium", "Sale"],
            Attributes = new Dictionary<string, string> { ["Brand"] = "Acme", ["colour"] = "Red " },
        };

        var item = CatalogValidator.Validate([upsert]).Accepted.Single();

        Assert.Equal("SKU-1", item.ItemId);
        Assert.Equal("running shoes", item.Category);
        Assert.Equal((129.90m, "EUR"), (item.Price!.Value, item.Currency));
        Assert.True(item.Available);
        Assert.False(item.FromEvents);
        Assert.Equal(["premium", "sale"], item.Tags);
        Assert.Equal("Red ", item.Attributes["colour"]);
        Assert.Equal("Acme", item.Attributes["Brand"]);
    }

    [Fact]
    public void An_item_id_with_white_space_at_either_end_is_refused_not_trimmed()
    {
        var validation = CatalogValidator.Validate([Good(" i1 "), Good("i1\u00A0"), Good("i 1"), Good("i1")]);

        Assert.Equal(["i 1", "i1"], validation.Accepted.Select(i => i.ItemId));
        Assert.Equal(
            ["items[0].item_id: ' i1 ' begins or ends with white space; item ids are matched exactly, so send it without",
             "items[1].item_id: 'i1\u00A0' begins or ends with white space; item ids are matched exactly, so send it without"],
            validation.Problems.Select(p => p.ToString()));
    }

    [Fact]
    public void A_negative_price_names_the_item_index_and_the_others_are_accepted()
    {
        var items = new[] { Good("a"), Good("b"), Good("c"), Good("d") with { Price = -1 }, Good("e") };

        var result = CatalogValidator.Validate(items);

        Assert.Equal(["items[3].price: must be 0 or more (-1)"], result.Problems.Select(p => p.ToString()));
        Assert.Equal([3], result.Rejected);
        Assert.Equal(["a", "b", "c", "e"], result.Accepted.Select(i => i.ItemId));
    }

    [Fact]
    public void Price_and_currency_go_together()
    {
        Assert.Equal(["items[0].currency: is required with a price (ISO 4217, e.g. EUR)"], Problems(Good("a") with { Currency = null }));
        Assert.Equal(["items[0].currency: 'EURO' is not an ISO 4217 currency code (e.g. EUR)"], Problems(Good("a") with { Currency = "EURO" }));
        Assert.Equal(["items[0].price: must be at most 10000000 (20000000)"], Problems(Good("a") with { Price = 20_000_000 }));
        Assert.Empty(Problems(Good("a") with { Price = 0 }));

        // A currency without a price says nothing and is not kept; no price is fine.
        var unpriced = CatalogValidator.Validate([Good("a") with { Price = null, Currency = "usd" }]).Accepted.Single();
        Assert.Equal((null, null), (unpriced.Price, unpriced.Currency));
    }

    [Theory]
    [InlineData(null, "items[0].item_id: is required")]
    [InlineData(" ", "items[0].item_id: is required")]
    [InlineData("a\u0000b", "items[0].item_id: contains control characters")]
    public void Item_ids_are_checked_like_other_ids(string? id, string expected)
    {
        Assert.Equal([expected], Problems(Good("x") with { ItemId = id }));
    }

    [Fact]
    public void Item_ids_up_to_256_characters_are_accepted()
    {
        Assert.Empty(Problems(Good(new string('x', 256))));
        Assert.Equal(["items[0].item_id: is 257 characters long; the limit is 256"], Problems(Good(new string('x', 257))));
    }

    [Fact]
    public void Tag_limits_are_named()
    {
        var many = Enumerable.Range(0, 33).Select(i => $"t{i}").ToArray();

        Assert.Equal(["items[0].tags: lists 33 tags; the limit is 32"], Problems(Good("a") with { Tags = many }));
        Assert.Equal(["items[0].tags[1]: is 65 characters long; the limit is 64"], Problems(Good("a") with { Tags = ["ok", new string('t', 65)] }));
        Assert.Equal(["items[0].tags[0]: is blank"], Problems(Good("a") with { Tags = ["  "] }));
    }

    [Fact]
    public void Attribute_limits_are_named()
    {
        var many = Enumerable.Range(0, 65).ToDictionary(i => $"k{i}", i => "v");

        Assert.Equal(["items[0].attributes: holds 65 pairs; the limit is 64"], Problems(Good("a") with { Attributes = many }));
        Assert.Equal(
            ["items[0].attributes[\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…\"]: key is 65 characters long; the limit is 64"],
            Problems(Good("a") with { Attributes = new Dictionary<string, string> { [new string('k', 65)] = "v" } }));
        Assert.Equal(
            ["items[0].attributes[\"story\"]: value is 1025 characters long; the limit is 1024"],
            Problems(Good("a") with { Attributes = new Dictionary<string, string> { ["story"] = new string('v', 1025) } }));
        Assert.Empty(Problems(Good("a") with { Attributes = new Dictionary<string, string> { [new string('k', 64)] = new string('v', 1024) } }));

        // An outside probe (probe46): U+0000 in an attribute value was stored as it came.
        Assert.Equal(
            ["items[0].attributes[\"story\"]: value holds a NUL character (U+0000) at position 2"],
            Problems(Good("a") with { Attributes = new Dictionary<string, string> { ["story"] = "ab\0c" } }));
        Assert.Empty(Problems(Good("a") with { Attributes = new Dictionary<string, string> { ["story"] = "line one\nline\ttwo" } }));
    }

    [Fact]
    public void Item_ids_that_no_path_can_name_are_refused()
    {
        Assert.Equal(["items[0].item_id: '.' cannot be an id: URLs resolve it as a dot segment, so no REST path could name it"], Problems(Good(".")));
        Assert.Single(Problems(Good("..")));
        Assert.Empty(Problems(Good("...")));
        Assert.Empty(Problems(Good("a.b")));
    }

    [Fact]
    public void Every_problem_of_an_item_is_reported()
    {
        var bad = new CatalogItemUpsert { ItemId = "", Category = "x\u0007", Price = -5, Tags = [""] };

        Assert.Equal(
        [
            "items[0].item_id: is required",
            "items[0].category: contains control characters",
            "items[0].price: must be 0 or more (-5)",
            "items[0].currency: is required with a price (ISO 4217, e.g. EUR)",
            "items[0].tags[0]: is blank",
        ], Problems(bad));
    }

    [Fact]
    public void A_repeated_id_in_one_request_is_refused_the_second_time()
    {
        var result = CatalogValidator.Validate([Good("a"), Good("b"), Good("a") with { Price = 5 }]);

        Assert.Equal(["items[2].item_id: 'a' repeats items[0].item_id"], result.Problems.Select(p => p.ToString()));
        Assert.Equal(10m, result.Accepted.Single(i => i.ItemId == "a").Price);
    }

    [Fact]
    public void A_null_item_and_an_oversized_request_are_refused()
    {
        Assert.Equal(["items[1]: is required (null item)"], Problems(Good("a"), null));

        var tooMany = Enumerable.Range(0, CatalogValidator.MaxItemsPerRequest + 1).Select(i => Good($"i{i}")).ToArray();
        var result = CatalogValidator.Validate(tooMany);
        Assert.Equal(["items: holds 10001 items; the limit is 10000 per request"], result.Problems.Select(p => p.ToString()));
        Assert.Empty(result.Accepted);
    }

    [Fact]
    public void Unavailable_is_kept()
    {
        Assert.False(CatalogValidator.Validate([Good("a") with { Available = false }]).Accepted.Single().Available);
    }

    [Fact]
    public void The_wire_json_reads_with_default_options()
    {
        var items = System.Text.Json.JsonSerializer.Deserialize<CatalogItemUpsert[]>("""
            [{ "item_id": "sku-1", "category": "Shoes", "price": 19.99, "currency": "EUR", "available": false,
               "tags": ["premium"], "attributes": { "brand": "Acme" } }]
            """)!;

        var item = CatalogValidator.Validate(items).Accepted.Single();

        Assert.Equal(("sku-1", "shoes", 19.99m, false, "Acme"), (item.ItemId, item.Category, item.Price!.Value, item.Available, item.Attributes["brand"]));
    }
}
