using ProfileGrid.Recommendations.Rules;
using static ProfileGrid.Recommendations.Tests.Rules.Shop;

namespace ProfileGrid.Recommendations.Tests.Rules;

/// <summary>
/// Every rule type on the hand-worked shop of <see cref="Shop"/>: candidates a c e f h b d g (scores 1.0 .9 .8 .7 .6
/// .5 .4 .3), e unavailable. Without rules the top five are "a c f h b".
/// </summary>
public class RuleEngineTests
{
    [Fact]
    public void Without_rules_the_list_is_the_candidates_minus_unavailable_items()
    {
        var outcome = Apply(RuleSet.Empty, Context());

        Assert.Equal("a c f h b", Ids(outcome));
        Assert.Contains(new RemovedCandidate("e", RemovalReasons.Unavailable), outcome.Removed);
        Assert.All(outcome.Items, i => Assert.Empty(i.RuleIds));
        Assert.Equal([1.0, 0.9, 0.7, 0.6, 0.5], outcome.Items.Select(i => i.Item.Score));
    }

    [Fact]
    public void A_pin_puts_the_item_first_with_the_rule_as_its_source()
    {
        var outcome = Apply(Set(Rule("pin-g", Pin(1, "g"))), Context());

        Assert.Equal("g a c f h", Ids(outcome));
        var pinned = outcome.Items[0];
        Assert.Equal(new ScoredItem("g", 1.0, RecommendationSources.Rule, "pin-g"), pinned.Item);
        Assert.Equal(["pin-g"], pinned.RuleIds);
    }

    [Fact]
    public void Pinned_items_follow_each_other_from_their_position_and_are_not_repeated_below()
    {
        // d is also a candidate (0.4): it appears once, at its pinned place.
        var outcome = Apply(Set(Rule("pin", Pin(3, "g", "d"))), Context());

        Assert.Equal("a c g d f", Ids(outcome));
        Assert.Equal([1.0, 0.9, 0.7, 0.7, 0.7], outcome.Items.Select(i => i.Item.Score));
        Assert.Equal(RecommendationSources.Rule, outcome.Items[3].Item.Source);
    }

    [Fact]
    public void An_unavailable_or_unknown_item_is_never_pinned()
    {
        var outcome = Apply(Set(Rule("pin", Pin(1, "e", "nope", "g"))), Context());

        Assert.Equal("g a c f h", Ids(outcome));
        Assert.Contains(new RemovedCandidate("e", RemovalReasons.Unavailable, "pin"), outcome.Removed);
        Assert.Contains(new RemovedCandidate("nope", RemovalReasons.UnknownItem, "pin"), outcome.Removed);
    }

    [Fact]
    public void A_pin_never_shows_what_a_filter_or_an_exclusion_leaves_out()
    {
        var set = Set(Rule("pin", Pin(1, "a", "c", "g")), Rule("no-bags", new RuleAction { Type = RuleActionTypes.Exclude, Categories = ["bags"] }));
        var context = Context() with { Purchased = new HashSet<string> { "a" }, PageItem = "c" };

        var outcome = Apply(set, context);

        Assert.Equal("f b d", Ids(outcome));
        Assert.Contains(new RemovedCandidate("a", RemovalReasons.Purchased, "pin"), outcome.Removed);
        Assert.Contains(new RemovedCandidate("c", RemovalReasons.PageItem, "pin"), outcome.Removed);
        Assert.Contains(new RemovedCandidate("g", RemovalReasons.RuleExclude, "no-bags"), outcome.Removed);
    }

    [Fact]
    public void A_boost_on_a_tag_raises_the_matching_items_and_names_the_rule()
    {
        // b 0.5 -> 1.5, d 0.4 -> 1.2, g 0.3 -> 0.9 (just under c's 0.9 in floating point; c came first anyway).
        var outcome = Apply(Set(Rule("premium", Boost(3, tag: "premium"))), Context());

        Assert.Equal("b d a c g", Ids(outcome));
        Assert.Equal(1.5, outcome.Items[0].Item.Score, 12);
        Assert.Equal(["premium"], outcome.Items[0].RuleIds);
        Assert.Empty(outcome.Items[2].RuleIds);
        // A boosted item keeps its source and reason.
        Assert.Equal((RecommendationSources.ItemItemCf, "x"), (outcome.Items[0].Item.Source, outcome.Items[0].Item.Because));
    }

    [Fact]
    public void A_factor_below_one_buries_a_category()
    {
        // a 1.0 -> 0.5, b 0.5 -> 0.25.
        var outcome = Apply(Set(Rule("bury-shoes", Boost(0.5, category: "Shoes "))), Context());

        Assert.Equal("c f h a d", Ids(outcome));
        Assert.Equal(["bury-shoes"], outcome.Items[3].RuleIds);
    }

    [Fact]
    public void A_price_band_matches_prices_from_min_up_to_but_not_including_max_in_its_currency()
    {
        var band = new PriceBand { Min = 120, Max = 300, Currency = "eur" };
        // b 120 and d 200 are in [120, 300); g at 300 is not.
        var outcome = Apply(Set(Rule("band", Boost(10, band: band))), Context());

        Assert.Equal("b d a c f", Ids(outcome));
        Assert.Equal(5.0, outcome.Items[0].Item.Score, 12);
    }

    [Fact]
    public void A_price_band_in_another_currency_matches_nothing()
    {
        var band = new PriceBand { Min = 0, Currency = "USD" };

        Assert.Equal("a c f h b", Ids(Apply(Set(Rule("band", Boost(10, band: band))), Context())));
    }

    [Fact]
    public void A_match_with_several_criteria_needs_all_of_them()
    {
        // Premium shirts only: d.
        var outcome = Apply(Set(Rule("premium-shirts", Boost(10, category: "shirts", tag: "premium"))), Context());

        Assert.Equal("d a c f h", Ids(outcome));
    }

    [Fact]
    public void Exclude_removes_a_category()
    {
        var outcome = Apply(Set(Rule("no-shirts", new RuleAction { Type = RuleActionTypes.Exclude, Categories = ["SHIRTS"] })), Context());

        Assert.Equal("a f h b g", Ids(outcome));
        Assert.Contains(new RemovedCandidate("c", RemovalReasons.RuleExclude, "no-shirts"), outcome.Removed);
    }

    [Fact]
    public void Exclude_removes_items_and_tags_and_a_short_list_stays_short()
    {
        var outcome = Apply(Set(Rule("x", new RuleAction { Type = RuleActionTypes.Exclude, Items = ["a"], Tags = ["premium"] })), Context());

        Assert.Equal("c f h", Ids(outcome));
    }

    [Fact]
    public void The_per_category_limit_fills_n_from_lower_candidates()
    {
        // a b (shoes), c d (shirts), f (hats): without the limit the top three are a b c.
        IReadOnlyList<ScoredItem> candidates = [Cf("a", 1.0), Cf("b", 0.9), Cf("c", 0.8), Cf("d", 0.7), Cf("f", 0.6)];
        var limit = Rule("diverse", new RuleAction { Type = RuleActionTypes.LimitPerCategory, MaxPerCategory = 1 });

        Assert.Equal("a b c", Ids(Apply(RuleSet.Empty, Context(3), candidates)));
        var outcome = Apply(Set(limit), Context(3), candidates);

        Assert.Equal("a c f", Ids(outcome));
        Assert.Contains(new RemovedCandidate("b", RemovalReasons.CategoryLimit, "diverse"), outcome.Removed);
        Assert.Contains(new RemovedCandidate("d", RemovalReasons.CategoryLimit, "diverse"), outcome.Removed);
    }

    [Fact]
    public void A_pinned_item_counts_toward_its_category_limit()
    {
        var set = Set(Rule("pin-b", Pin(1, "b")), Rule("diverse", new RuleAction { Type = RuleActionTypes.LimitPerCategory, MaxPerCategory = 1 }));

        // b takes the shoes slot, so a (shoes) gives way.
        Assert.Equal("b c f h", Ids(Apply(set, Context(4))));
    }

    [Fact]
    public void Purchased_items_are_left_out_unless_a_filter_rule_keeps_them()
    {
        var context = Context() with { Purchased = new HashSet<string> { "a" } };
        var keep = Rule("consumables", new RuleAction { Type = RuleActionTypes.Filter, ExcludePurchased = false });

        Assert.Equal("c f h b d", Ids(Apply(RuleSet.Empty, context)));
        Assert.Equal("a c f h b", Ids(Apply(Set(keep), context)));
    }

    [Fact]
    public void Rated_items_stay_out_when_a_filter_rule_keeps_purchases()
    {
        // a bought; c rated five stars, f one star. Consumables bring a back, never what the user rated, liked or not.
        var context = Context() with { Purchased = new HashSet<string> { "a" }, Rated = new HashSet<string> { "c", "f" } };
        var keep = Rule("consumables", new RuleAction { Type = RuleActionTypes.Filter, ExcludePurchased = false });

        Assert.Equal("h b d g", Ids(Apply(RuleSet.Empty, context)));
        var outcome = Apply(Set(keep), context);
        Assert.Equal("a h b d g", Ids(outcome));
        Assert.Contains(new RemovedCandidate("f", RemovalReasons.Rated), outcome.Removed);
    }

    [Fact]
    public void Items_seen_within_the_filter_window_are_left_out()
    {
        var context = Context() with
        {
            SeenAt = new Dictionary<string, DateTimeOffset> { ["a"] = Now.AddDays(-3), ["c"] = Now.AddDays(-10) },
        };
        var filter = Rule("fresh", new RuleAction { Type = RuleActionTypes.Filter, ExcludeSeenWithinDays = 7 });

        Assert.Equal("a c f h b", Ids(Apply(RuleSet.Empty, context)));
        var outcome = Apply(Set(filter), context);
        Assert.Equal("c f h b d", Ids(outcome));
        Assert.Contains(new RemovedCandidate("a", RemovalReasons.RecentlySeen), outcome.Removed);
    }

    [Fact]
    public void The_callers_exclusions_and_the_page_item_are_left_out()
    {
        var context = Context() with { Exclude = new HashSet<string> { "c" }, PageItem = "f" };

        Assert.Equal("a h b d g", Ids(Apply(RuleSet.Empty, context)));
    }

    [Fact]
    public void Boosts_combine_and_list_their_rules_in_priority_order()
    {
        // b is premium and shoes: 0.5 x 2 x 2 = 2.0, level with a (shoes, 1.0 x 2), which came first; d 0.8, g 0.6.
        var set = Set(Rule("shoes", Boost(2, category: "shoes"), priority: 5), Rule("premium", Boost(2, tag: "premium"), priority: 1));

        var outcome = Apply(set, Context());

        Assert.Equal("a b c d f", Ids(outcome));
        Assert.Equal(2.0, outcome.Items[0].Item.Score, 12);
        Assert.Equal(["premium", "shoes"], outcome.Items[1].RuleIds);
    }

    [Theory]
    [InlineData(0, 1, "g d a c f")]
    [InlineData(1, 0, "d g a c f")]
    [InlineData(0, 0, "g d a c f")] // equal priority: by id, "pin-1" before "pin-2"
    public void Two_pins_for_one_position_go_in_priority_order(int first, int second, string expected)
    {
        var set = Set(Rule("pin-1", Pin(1, "g"), priority: first), Rule("pin-2", Pin(1, "d"), priority: second));

        Assert.Equal(expected, Ids(Apply(set, Context())));
    }

    [Fact]
    public void Of_two_category_limits_the_first_in_priority_order_applies()
    {
        IReadOnlyList<ScoredItem> candidates = [Cf("a", 1.0), Cf("b", 0.9), Cf("c", 0.8), Cf("d", 0.7), Cf("f", 0.6)];
        var one = Rule("one", new RuleAction { Type = RuleActionTypes.LimitPerCategory, MaxPerCategory = 1 }, priority: 2);
        var two = Rule("two", new RuleAction { Type = RuleActionTypes.LimitPerCategory, MaxPerCategory = 2 }, priority: 1);

        Assert.Equal("a b c", Ids(Apply(Set(one, two), Context(3), candidates)));
        Assert.Equal("a c f", Ids(Apply(Set(one with { Priority = 0 }, two), Context(3), candidates)));
    }

    [Fact]
    public void A_rule_applies_only_inside_its_window_start_inclusive_end_exclusive()
    {
        var pin = Rule("sale", Pin(1, "g"));

        Assert.Equal("g", Ids(Apply(Set(pin with { StartsAt = Now, EndsAt = Now.AddDays(1) }), Context()))[..1]);
        Assert.Equal("a", Ids(Apply(Set(pin with { StartsAt = Now.AddSeconds(1) }), Context()))[..1]);
        Assert.Equal("a", Ids(Apply(Set(pin with { EndsAt = Now }), Context()))[..1]);
        Assert.Equal("g", Ids(Apply(Set(pin with { EndsAt = Now.AddSeconds(1) }), Context()))[..1]);
    }

    [Fact]
    public void A_disabled_rule_does_nothing()
    {
        Assert.Equal("a c f h b", Ids(Apply(Set(Rule("pin", Pin(1, "g")) with { Enabled = false }), Context())));
    }

    [Fact]
    public void A_segment_rule_applies_to_members_by_label_or_id_ignoring_case()
    {
        var byLabel = Set(Rule("vip", Pin(1, "g"), segment: "high-value"));
        var byId = Set(Rule("vip", Pin(1, "g"), segment: "3"));

        Assert.Equal("g a c f h", Ids(Apply(byLabel, Context(5, "3", "High-Value"))));
        Assert.Equal("g a c f h", Ids(Apply(byId, Context(5, "3", "high-value"))));
        Assert.Equal("a c f h b", Ids(Apply(byLabel, Context(5, "7", "new"))));
        Assert.Equal("a c f h b", Ids(Apply(byLabel, Context(5))));
        Assert.Equal(["vip"], Apply(byLabel, Context(5, "high-value")).RulesInForce);
    }

    [Fact]
    public void A_star_segment_is_everyone()
    {
        Assert.Equal("g a c f h", Ids(Apply(Set(Rule("all", Pin(1, "g"), segment: "*")), Context(5, "anything"))));
    }

    [Fact]
    public void An_opted_out_user_gets_no_personal_candidates_no_segment_rules_and_no_history_filters()
    {
        IReadOnlyList<ScoredItem> candidates =
        [
            Cf("a", 1.0),
            new("c", 0.9, RecommendationSources.Popular),
            new("f", 0.7, RecommendationSources.Popular),
            new("h", 0.6, RecommendationSources.Trending),
            new("b", 0.5, RecommendationSources.SegmentPopular, "high-value"),
        ];
        var set = Set(Rule("vip", Pin(1, "g"), segment: "high-value"), Rule("hats", Boost(2, category: "hats")));
        var context = Context(5, "high-value") with { Personalized = false, Purchased = new HashSet<string> { "c" } };

        var outcome = Apply(set, context, candidates);

        // f 0.7 x 2 = 1.4 first; c stays although bought: the non-personalized list does not read the user's history.
        Assert.Equal("f c h", Ids(outcome));
        Assert.Equal(["hats"], outcome.RulesInForce);
        Assert.Contains(new RemovedCandidate("a", RemovalReasons.Consent), outcome.Removed);
        Assert.Contains(new RemovedCandidate("b", RemovalReasons.Consent), outcome.Removed);
        // The same request from a user who never said (null) gets the personal list: the segment pin, cf items, and
        // c left out as bought.
        Assert.Equal("g f a h b", Ids(Apply(set, context with { Personalized = null }, candidates)));
    }

    [Fact]
    public void Two_opted_out_users_with_different_histories_get_the_same_list()
    {
        IReadOnlyList<ScoredItem> popular = Candidates.Select(c => c with { Source = RecommendationSources.Popular, Because = null }).ToArray();
        var set = Set(Rule("vip", Boost(5, tag: "premium"), segment: "high-value"), Rule("diverse", new RuleAction { Type = RuleActionTypes.LimitPerCategory, MaxPerCategory = 1 }));
        var first = Context(5, "high-value") with { Personalized = false, Purchased = new HashSet<string> { "a", "c" }, Rated = new HashSet<string> { "h" } };
        var second = Context(5, "new") with { Personalized = false, SeenAt = new Dictionary<string, DateTimeOffset> { ["f"] = Now } };

        Assert.Equal(Ids(Apply(set, first, popular)), Ids(Apply(set, second, popular)));
    }

    [Fact]
    public void High_value_users_see_premium_items_first_and_everyone_sees_the_new_arrival()
    {
        // The documented example: for high-value users premium items x5; for everyone no hats, at most 2 per
        // category, and the new arrival h pinned first.
        var set = Set(
            Rule("vip-premium", Boost(5, tag: "premium"), segment: "high-value", priority: 10),
            Rule("no-hats", new RuleAction { Type = RuleActionTypes.Exclude, Categories = ["hats"] }),
            Rule("diverse", new RuleAction { Type = RuleActionTypes.LimitPerCategory, MaxPerCategory = 2 }),
            Rule("new-arrival", Pin(1, "h")));

        // High-value: b 2.5, d 2.0, g 1.5, a 1.0, c 0.9; h pinned takes one of two bag slots, g takes the other.
        var vip = Apply(set, Context(4, "high-value"));
        Assert.Equal("h b d g", Ids(vip));
        Assert.Equal(2.5, vip.Items[0].Item.Score, 12);
        Assert.Equal(["vip-premium"], vip.Items[1].RuleIds);

        // Everyone else: a c b d g by score; h pinned; a, c and b fill the three other slots.
        Assert.Equal("h a c b", Ids(Apply(set, Context(4, "new"))));
    }

    [Fact]
    public void Ties_keep_the_candidates_order_and_the_same_request_gives_the_same_list()
    {
        IReadOnlyList<ScoredItem> candidates = [Cf("f", 0.5), Cf("c", 0.5), Cf("a", 0.5), Cf("h", 0.5)];
        var set = Set(Rule("one", Boost(1, category: "shirts")));

        var first = Apply(set, Context(4), candidates);
        var second = Apply(set, Context(4), candidates);

        Assert.Equal("f c a h", Ids(first));
        Assert.Equal(first.Items.Select(i => i.Item), second.Items.Select(i => i.Item));
    }

    [Fact]
    public void A_repeated_candidate_is_shown_once()
    {
        var outcome = Apply(RuleSet.Empty, Context(), [Cf("a", 1.0), Cf("c", 0.9), Cf("a", 0.8)]);

        Assert.Equal("a c", Ids(outcome));
        Assert.Contains(new RemovedCandidate("a", RemovalReasons.Duplicate), outcome.Removed);
    }

    [Theory]
    [InlineData(60)]
    [InlineData(600)] // past the short-list check: a hash set
    public void Repeats_are_found_in_short_and_long_candidate_lists_alike(int distinct)
    {
        // Ids unknown to the catalog stay candidates; every tenth repeats an earlier one (the same string or an equal copy).
        var candidates = new List<ScoredItem>();
        for (var i = 0; i < distinct; i++)
        {
            candidates.Add(Cf($"item-{i}", 1.0 - i * 1e-4));
            if (i % 10 == 9)
            {
                candidates.Add(Cf(new string($"item-{i - 5}".AsSpan()), 0.5));
            }
        }

        var outcome = Apply(RuleSet.Empty, Context(distinct), candidates);

        Assert.Equal(Enumerable.Range(0, distinct).Select(i => $"item-{i}"), outcome.Items.Select(i => i.Item.ItemId));
        Assert.Equal(distinct / 10, outcome.Removed.Count(r => r.Reason == RemovalReasons.Duplicate));
    }

    [Fact]
    public void The_list_never_exceeds_n_and_pins_past_a_short_list_close_up()
    {
        Assert.Empty(Apply(Set(Rule("pin", Pin(1, "g"))), Context(0)).Items);
        Assert.Equal(7, Apply(RuleSet.Empty, Context(20)).Items.Count);
        Assert.Equal("a c g", Ids(Apply(Set(Rule("pin", Pin(4, "g"))), Context(5), [Cf("a", 1.0), Cf("c", 0.9)])));
        // A pin past n does not show.
        Assert.Equal("a c", Ids(Apply(Set(Rule("pin", Pin(3, "g"))), Context(2))));
    }

    [Fact]
    public void A_boost_raises_a_negative_score_too()
    {
        // EASE scores can be negative: x4 on -1.0 gives -0.25, above c's -0.5.
        var outcome = Apply(Set(Rule("shoes", Boost(4, category: "shoes"))), Context(2), [Cf("c", -0.5), Cf("a", -1.0)]);

        Assert.Equal("a c", Ids(outcome));
        Assert.Equal(-0.25, outcome.Items[0].Item.Score, 12);
    }

    [Fact]
    public void An_item_the_catalog_does_not_know_stays_a_candidate_but_matches_no_rule()
    {
        var set = Set(Rule("no-shoes", new RuleAction { Type = RuleActionTypes.Exclude, Categories = ["shoes"] }), Rule("up", Boost(10, category: "shoes")));

        var outcome = Apply(set, Context(2), [Cf("mystery", 0.1), Cf("a", 1.0), Cf("c", 0.05)]);

        Assert.Equal("mystery c", Ids(outcome));
        Assert.Empty(outcome.Items[0].RuleIds);
    }

    [Fact]
    public void A_rule_change_applies_to_the_next_request()
    {
        var v1 = Set();
        Assert.Equal("a c f h b", Ids(Apply(v1, Context())));

        var v2 = RuleSetEditor.Upsert(v1, Rule("pin", Pin(1, "g")), Now).RuleSet!;
        var v3 = RuleSetEditor.Delete(v2, "pin", Now).RuleSet!;

        var outcome = Apply(v2, Context());
        Assert.Equal("g a c f h", Ids(outcome));
        Assert.Equal(v2.Version, outcome.RuleSetVersion);
        Assert.Equal("a c f h b", Ids(Apply(v3, Context())));
    }

    [Fact]
    public void A_compiled_set_serves_many_requests_alike()
    {
        var compiled = RuleEngine.Compile(Set(Rule("vip", Pin(1, "g"), segment: "high-value")));

        Assert.Equal("g a c f h", Ids(compiled.Apply(Candidates, Lookup, Context(5, "high-value"))));
        Assert.Equal("a c f h b", Ids(compiled.Apply(Candidates, Lookup, Context(5, "new"))));
    }
}
