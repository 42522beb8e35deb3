using System.Text.Json;
using ProfileGrid.Recommendations.Rules;
using static ProfileGrid.Recommendations.Tests.Rules.Shop;

namespace ProfileGrid.Recommendations.Tests.Rules;

public class RuleValidatorTests
{
    private static IReadOnlyList<string> Problems(params RecommendationRule[] rules) =>
        RuleValidator.Validate(rules).Problems.Select(p => p.ToString()).ToArray();

    private static RecommendationRule Valid(string id) => Rule(id, Pin(1, "a")) with { Name = "pin a" };

    [Fact]
    public void A_zero_factor_is_named_with_the_rule_index_and_the_value()
    {
        var problems = Problems(Valid("r0"), Valid("r1"), Rule("r2", Boost(0, tag: "premium")));

        Assert.Equal(["rules[2].action.factor: must be > 0 (0)"], problems);
    }

    [Fact]
    public void A_pinned_or_excluded_item_id_with_white_space_at_either_end_is_refused_as_the_catalog_refuses_it()
    {
        var problems = Problems(Rule("r0", Pin(1, "a", " b")), Rule("r1", new RuleAction { Type = "exclude", Items = ["c "] }));

        Assert.Equal(
            ["rules[0].action.items[1]: ' b' begins or ends with white space; item ids are matched exactly, so send it without",
             "rules[1].action.items[0]: 'c ' begins or ends with white space; item ids are matched exactly, so send it without"],
            problems);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var rule = new RecommendationRule
        {
            Id = new string('x', 129),
            Segment = "bad\u0001segment",
            StartsAt = Now,
            EndsAt = Now.AddHours(-1),
            Action = new RuleAction { Type = RuleActionTypes.Boost, Factor = -1, Items = ["a"] },
        };

        var problems = Problems(rule);

        Assert.Equal(
        [
            "rules[0].id: is 129 characters long; the limit is 128",
            "rules[0].segment: contains control characters",
            "rules[0].ends_at: must be after starts_at (2026-12-01T11:00:00Z is not after 2026-12-01T12:00:00Z)",
            "rules[0].action.match: is required: a category, a tag or a price_band (all that are given must hold)",
            "rules[0].action.factor: must be > 0 (-1)",
            "rules[0].action.items: is not read by a boost action (remove it)",
        ], problems);
    }

    [Theory]
    [InlineData(null, "rules[0].action.type: is required (one of pin, boost, exclude, limit_per_category, filter)")]
    [InlineData("promote", "rules[0].action.type: 'promote' is not one of pin, boost, exclude, limit_per_category, filter")]
    [InlineData("bury", "rules[0].action.type: 'bury' is a boost with a factor below 1: use {\"type\": \"boost\", \"factor\": 0.5, ...}")]
    public void An_unknown_action_type_says_what_is_allowed(string? type, string expected)
    {
        Assert.Equal([expected], Problems(Rule("r", new RuleAction { Type = type })));
    }

    [Fact]
    public void A_rule_needs_an_action()
    {
        Assert.Equal(["rules[0].action: is required (pin, boost, exclude, limit_per_category, filter)"], Problems(new RecommendationRule { Id = "r" }));
    }

    [Theory]
    [InlineData("", "is required")]
    [InlineData("   ", "is required")]
    [InlineData("a\nb", "contains control characters")]
    public void Rule_ids_are_checked_like_other_ids(string id, string reason)
    {
        Assert.Equal([$"rules[0].id: {reason}"], Problems(Valid(id)));
    }

    [Fact]
    public void A_repeated_rule_id_names_the_first()
    {
        Assert.Equal(["rules[2].id: 'x' repeats rules[0].id"], Problems(Valid("x"), Valid("y"), Valid("x")));
    }

    [Fact]
    public void Pin_limits_are_named()
    {
        var tooMany = Enumerable.Range(0, RuleLimits.MaxPinnedItems + 1).Select(i => $"i{i}").ToArray();

        Assert.Equal(["rules[0].action.items: needs at least one item id"], Problems(Rule("r", Pin(1))));
        Assert.Equal(["rules[0].action.items: lists 21 items; the limit is 20"], Problems(Rule("r", Pin(1, tooMany))));
        Assert.Equal(["rules[0].action.position: must be between 1 and 100 (0)"], Problems(Rule("r", Pin(0, "a"))));
        Assert.Equal(["rules[0].action.items[1]: 'a' is listed twice"], Problems(Rule("r", Pin(1, "a", "a"))));
        Assert.Equal(["rules[0].action.items[0]: is 257 characters long; the limit is 256"], Problems(Rule("r", Pin(1, new string('i', 257)))));
    }

    [Fact]
    public void Boost_factor_and_price_band_are_checked()
    {
        Assert.Equal(
            ["rules[0].action.factor: must be between 0.001 and 1000 (5000); to show or hide items for certain, pin or exclude them"],
            Problems(Rule("r", Boost(5000, tag: "x"))));
        Assert.Equal(
            ["rules[0].action.factor: is required (> 1 raises the matching items, < 1 buries them, e.g. 0.5)"],
            Problems(Rule("r", new RuleAction { Type = "boost", Match = new RuleMatch { Tag = "x" } })));
        Assert.Equal(["rules[0].action.factor: must be > 0 (NaN)"], Problems(Rule("r", Boost(double.NaN, tag: "x"))));

        var problems = Problems(Rule("r", Boost(2, band: new PriceBand { Min = -1, Max = -5, Currency = "EURO" })));
        Assert.Equal(
        [
            "rules[0].action.match.price_band.currency: 'EURO' is not an ISO 4217 currency code (e.g. EUR)",
            "rules[0].action.match.price_band.min: must be 0 or more (-1)",
            "rules[0].action.match.price_band.max: must be above min (-5 is not above -1)",
        ], problems);
        Assert.Equal(
            ["rules[0].action.match.price_band.currency: is required (ISO 4217, e.g. EUR): prices are compared without conversion"],
            Problems(Rule("r", Boost(2, band: new PriceBand { Min = 10 }))));
        Assert.Equal(["rules[0].action.match.tag: is blank (leave it out to match any)"], Problems(Rule("r", Boost(2, tag: " "))));
    }

    [Fact]
    public void Exclude_limit_and_filter_need_their_fields()
    {
        Assert.Equal(["rules[0].action: an exclude action needs items, categories or tags"], Problems(Rule("r", new RuleAction { Type = "exclude" })));
        Assert.Equal(["rules[0].action.categories[1]: is required (blank)"], Problems(Rule("r", new RuleAction { Type = "exclude", Categories = ["a", ""] })));
        Assert.Equal(["rules[0].action.max_per_category: is required"], Problems(Rule("r", new RuleAction { Type = "limit_per_category" })));
        Assert.Equal(
            ["rules[0].action.max_per_category: must be between 1 and 100 (0)"],
            Problems(Rule("r", new RuleAction { Type = "limit_per_category", MaxPerCategory = 0 })));
        Assert.Equal(
            ["rules[0].action: a filter action needs exclude_purchased or exclude_seen_within_days"],
            Problems(Rule("r", new RuleAction { Type = "filter" })));
        Assert.Equal(
            ["rules[0].action.exclude_seen_within_days: must be between 0 (off) and 365 (400)"],
            Problems(Rule("r", new RuleAction { Type = "filter", ExcludeSeenWithinDays = 400 })));
        Assert.Equal(
            ["rules[0].action.factor: is not read by a pin action (remove it)"],
            Problems(Rule("r", Pin(1, "a") with { Factor = 2 })));
    }

    [Fact]
    public void A_tenant_holds_at_most_the_documented_number_of_rules()
    {
        var rules = Enumerable.Range(0, RuleLimits.MaxRules + 1).Select(i => Valid($"r{i}")).ToArray();

        Assert.Equal(["rules: holds 201 rules; the limit is 200 per tenant"], Problems(rules));
        Assert.Empty(Problems(rules[..RuleLimits.MaxRules]));
    }

    [Fact]
    public void Codes_currency_and_segment_are_normalised()
    {
        var rule = new RecommendationRule
        {
            Id = "r",
            Segment = "  high-value ",
            Action = Boost(2, category: " Shoes", tag: "PREMIUM", band: new PriceBand { Min = 1, Currency = "eur" }),
        };

        var stored = RuleValidator.Validate(rule).Rules!.Single();

        Assert.Equal("high-value", stored.Segment);
        Assert.Equal("shoes", stored.Action!.Match!.Category);
        Assert.Equal("premium", stored.Action.Match.Tag);
        Assert.Equal("EUR", stored.Action.Match.PriceBand!.Currency);
        Assert.Equal(["bags"], RuleValidator.Validate(Rule("x", new RuleAction { Type = "exclude", Categories = ["Bags", " bags"] })).Rules!.Single().Action!.Categories);
        Assert.Equal(1, RuleValidator.Validate(Rule("p", new RuleAction { Type = "pin", Items = ["a"] })).Rules!.Single().Action!.Position);
    }

    [Fact]
    public void The_documented_json_reads_with_default_options_and_writes_snake_case()
    {
        const string json = """
            {
              "id": "vip-premium",
              "name": "High-value users see premium items first",
              "segment": "high-value",
              "priority": 10,
              "starts_at": "2026-12-01T00:00:00Z",
              "ends_at": "2027-01-01T00:00:00Z",
              "action": {
                "type": "boost",
                "match": { "tag": "premium", "price_band": { "min": 100, "currency": "EUR" } },
                "factor": 5
              }
            }
            """;

        var rule = JsonSerializer.Deserialize<RecommendationRule>(json)!;

        Assert.True(RuleValidator.Validate(rule).IsValid);
        Assert.Equal(("high-value", 10, 5.0, 100m), (rule.Segment, rule.Priority, rule.Action!.Factor!.Value, rule.Action.Match!.PriceBand!.Min!.Value));
        Assert.True(rule.Enabled);
        var written = JsonSerializer.Serialize(new RuleSet { Version = 3, UpdatedAt = Now, Rules = [rule] });
        Assert.Contains("\"updated_at\":", written);
        Assert.Contains("\"price_band\":{\"min\":100,\"max\":null,\"currency\":\"EUR\"}", written);
        Assert.Contains("\"starts_at\":\"2026-12-01T00:00:00+00:00\"", written);
        Assert.DoesNotContain("IsForEveryone", written);
    }

    [Fact]
    public void A_limit_per_category_and_a_filter_read_from_json()
    {
        var rules = JsonSerializer.Deserialize<RecommendationRule[]>("""
            [
              { "id": "diverse", "action": { "type": "limit_per_category", "max_per_category": 2 } },
              { "id": "fresh", "segment": "*", "action": { "type": "filter", "exclude_purchased": false, "exclude_seen_within_days": 7 } },
              { "id": "no-hats", "action": { "type": "exclude", "categories": ["hats"], "items": ["sku-1"], "tags": ["adult"] } }
            ]
            """)!;

        Assert.Empty(RuleValidator.Validate(rules).Problems);
        Assert.Equal(2, rules[0].Action!.MaxPerCategory);
        Assert.Equal((false, 7), (rules[1].Action!.ExcludePurchased!.Value, rules[1].Action!.ExcludeSeenWithinDays!.Value));
        Assert.True(rules[1].IsForEveryone);
    }
}

public class RuleDocsTests
{
    [Fact]
    public void The_example_rule_set_in_the_docs_is_valid()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "recommendation-rules.md")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var doc = File.ReadAllText(Path.Combine(dir.FullName, "docs", "recommendation-rules.md"));
        var start = doc.IndexOf("```json\n[", StringComparison.Ordinal) + "```json\n".Length;
        var json = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];

        var rules = JsonSerializer.Deserialize<RecommendationRule[]>(json)!;

        Assert.Equal(7, rules.Length);
        Assert.Empty(RuleValidator.Validate(rules).Problems);
    }
}
