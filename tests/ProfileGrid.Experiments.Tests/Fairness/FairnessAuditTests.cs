using System.Text.Json;
using ProfileGrid.Experiments.Fairness;

namespace ProfileGrid.Experiments.Tests.Fairness;

public sealed class FairnessAuditTests
{
    /// <summary>A group of <paramref name="users"/> identical-in-distribution users, deterministic from the seed.</summary>
    private static GroupTally Users(int users, double meanImpressions, double ctr, double conversion, int seed)
    {
        var random = new Random(seed);
        var builder = new GroupTallyBuilder();
        for (var i = 0; i < users; i++)
        {
            // Impressions spread uniformly over [0, 2 * mean], so the mean is the one asked for.
            var impressions = (long)Math.Round(random.NextDouble() * 2 * meanImpressions);
            long clicks = 0;
            for (var list = 0; list < impressions; list++)
            {
                clicks += random.NextDouble() < ctr ? 1 : 0;
            }

            long purchases = impressions > 0 && random.NextDouble() < conversion ? 1 : 0;
            builder.Record(impressions, impressions * 8, clicks, purchases, purchases * 25.0);
        }

        return builder.ToTally();
    }

    private static AuditInput Gender(params (string Group, GroupTally Tally)[] groups) => new()
    {
        Groups = new Dictionary<string, IReadOnlyDictionary<string, GroupTally>>
        {
            [FairnessDimensions.Gender] = groups.ToDictionary(g => g.Group, g => g.Tally),
        },
    };

    [Fact]
    public void A_user_whose_impression_was_lost_counts_as_exposed_by_their_click_and_the_audit_answers()
    {
        // A click and an attributed purchase of a served list whose impression never arrived (a dropped beacon), beside a
        // user shown a list who did nothing, and one with a purchase but no exposure at all.
        var iceland = new GroupTally().Record(0, 0, 1, 1, 3.0).Record(1, 5, 0, 0, 0).Record(0, 0, 0, 1, 3.0);

        Assert.Equal((3L, 2L, 1L, 1L), (iceland.Users, iceland.ExposedUsers, iceland.Clickers, iceland.Converters));
        var audit = FairnessAuditor.Audit(Gender(("IS", iceland)));
        Assert.Equal(0.5, audit.Dimensions.Single().Groups.Single().ConversionRate.Value);
    }

    private static FourFifthsCheck Check(FairnessAudit audit, string group, FairnessMetric metric) =>
        audit.Dimensions.Single().Groups.Single(g => g.Group == group).FourFifths.Single(c => c.Metric == metric);

    [Fact]
    public void A_group_shown_half_as_much_at_ten_thousand_users_is_flagged_and_the_gap_is_significant()
    {
        var audit = FairnessAuditor.Audit(Gender(
            ("female", Users(10_000, 3, 0.1, 0.05, 1)),
            ("male", Users(10_000, 6, 0.1, 0.05, 2)),
            ("unknown", Users(10_000, 6, 0.1, 0.05, 3))));

        var female = Check(audit, "female", FairnessMetric.ExposurePerUser);
        Assert.Equal(FourFifthsVerdict.Flagged, female.Verdict);
        Assert.InRange(female.Ratio!.Value, 0.45, 0.55);
        Assert.True(female.Significant, $"p = {female.PValue}");
        var group = audit.Dimensions.Single().Groups.Single(g => g.Group == "female");
        Assert.InRange(group.ExposureParity!.Value, 0.55, 0.65);
        // Served half as much, but once shown, the group clicks and converts like the others.
        Assert.NotEqual(FourFifthsVerdict.Flagged, Check(audit, "female", FairnessMetric.Ctr).Verdict);
        Assert.NotEqual(FourFifthsVerdict.Flagged, Check(audit, "female", FairnessMetric.ConversionRate).Verdict);
        Assert.Equal(1, audit.Flags);
        Assert.Contains("gender = female: exposure per user is", FairnessSummary.Render(audit));
    }

    [Fact]
    public void Groups_served_alike_are_not_flagged()
    {
        var audit = FairnessAuditor.Audit(Gender(
            ("female", Users(5000, 5, 0.2, 0.2, 4)),
            ("male", Users(5000, 5, 0.2, 0.2, 5)),
            ("unknown", Users(3000, 5, 0.2, 0.2, 6))));

        Assert.Equal(0, audit.Flags);
        Assert.All(audit.Dimensions.Single().Groups.SelectMany(g => g.FourFifths),
            c => Assert.True(c.Verdict == FourFifthsVerdict.Ok && c.Ratio > 0.8, $"{c.Metric}: {c.Ratio} {c.Verdict}"));
        Assert.Contains("No group with 100+ users", FairnessSummary.Render(audit));
    }

    [Fact]
    public void A_small_group_is_too_small_to_judge_and_never_flagged_however_badly_served()
    {
        // 40 users shown a tenth as much, who never click or buy: below the 100-user minimum, so reported, not flagged.
        var small = Users(40, 0.6, 0, 0, 7);
        var audit = FairnessAuditor.Audit(Gender(("female", Users(3000, 6, 0.1, 0.05, 8)), ("male", Users(3000, 6, 0.1, 0.05, 9)), ("other", small)));

        var checks = audit.Dimensions.Single().Groups.Single(g => g.Group == "other").FourFifths;
        Assert.All(checks, c => Assert.Equal(FourFifthsVerdict.TooSmall, c.Verdict));
        Assert.All(checks, c => Assert.Null(c.PValue));
        Assert.True(checks[0].Ratio < 0.2, "the ratio is still reported");
        Assert.Equal(0, audit.Flags);
        Assert.Contains("too small to judge (under 100 users): other", FairnessSummary.Render(audit));
    }

    [Fact]
    public void A_tiny_group_with_a_perfect_rate_does_not_become_the_reference()
    {
        var lucky = new GroupTally().Record(5, 40, 5, 1, 10).Record(4, 32, 4, 1, 10);
        var audit = FairnessAuditor.Audit(Gender(("female", Users(2000, 5, 0.1, 0.05, 10)), ("male", Users(2000, 5, 0.1, 0.05, 11)), ("other", lucky)));

        var conversion = Check(audit, "female", FairnessMetric.ConversionRate);
        Assert.NotEqual("other", conversion.ReferenceGroup);
        Assert.Equal(0, audit.Flags);
    }

    [Fact]
    public void Shards_added_give_the_tally_of_all_users()
    {
        var all = new GroupTallyBuilder();
        GroupTally first = GroupTally.Empty, second = GroupTally.Empty;
        var random = new Random(12);
        for (var i = 0; i < 500; i++)
        {
            long impressions = random.Next(0, 9), clicks = impressions == 0 ? 0 : random.Next(0, 3), purchases = random.Next(0, 2) * (impressions > 0 ? 1 : 0);
            var revenue = purchases * 12.5;
            all.Record(impressions, impressions * 6, clicks, purchases, revenue);
            if (i % 2 == 0)
            {
                first = first.Record(impressions, impressions * 6, clicks, purchases, revenue);
            }
            else
            {
                second = second.Record(impressions, impressions * 6, clicks, purchases, revenue);
            }
        }

        Assert.Equal(all.ToTally(), first + second);
        Assert.Equal(500, (first + second).Users);
    }

    [Fact]
    public void A_group_the_treatment_hurts_while_it_helps_overall_is_flagged()
    {
        // The treatment lifts conversion from 10% to 14% for new visitors (the majority) but cuts it to 6% for returning ones.
        var input = new ExperimentAuditInput
        {
            ExperimentId = "exp-1",
            ControlVariant = "a",
            Groups = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, GroupTally>>>
            {
                [FairnessDimensions.Visitor] = new Dictionary<string, IReadOnlyDictionary<string, GroupTally>>
                {
                    [FairnessDimensions.NewVisitor] = new Dictionary<string, GroupTally> { ["a"] = Users(8000, 5, 0.1, 0.10, 13), ["b"] = Users(8000, 5, 0.1, 0.14, 14) },
                    [FairnessDimensions.ReturningVisitor] = new Dictionary<string, GroupTally> { ["a"] = Users(3000, 5, 0.1, 0.10, 15), ["b"] = Users(3000, 5, 0.1, 0.06, 16) },
                    ["tiny"] = new Dictionary<string, GroupTally> { ["a"] = Users(50, 5, 0.1, 0.5, 17), ["b"] = Users(50, 5, 0.1, 0.0, 18) },
                },
            },
        };

        var audit = FairnessAuditor.AuditExperiment(input);

        var dimension = audit.Dimensions.Single();
        Assert.True(dimension.Overall.Single().Conversion.Difference > 0);
        var returning = dimension.Groups.Single(g => g.Group == FairnessDimensions.ReturningVisitor).Effects.Single();
        Assert.True(returning.Flagged);
        Assert.Equal(["conversion"], returning.OppositeMetrics);
        Assert.True(returning.Conversion.Difference < 0 && returning.Conversion.Upper < 0);
        Assert.False(dimension.Groups.Single(g => g.Group == FairnessDimensions.NewVisitor).Effects.Single().Flagged);
        var tiny = dimension.Groups.Single(g => g.Group == "tiny").Effects.Single();
        Assert.True(tiny.TooSmall && !tiny.Flagged, "a 50-user group is never flagged");
        Assert.Equal(1, audit.Flags);
        var summary = FairnessSummary.Render(FairnessAuditor.Audit(new AuditInput()), audit);
        Assert.Contains("b moves conversion -", summary);
        Assert.Contains("visitor = returning", summary);
    }

    [Fact]
    public void Empty_input_gives_an_empty_well_formed_audit_without_nan()
    {
        var audit = FairnessAuditor.Audit(new AuditInput());
        var experiment = FairnessAuditor.AuditExperiment(new ExperimentAuditInput());

        Assert.Empty(audit.Dimensions);
        Assert.Equal(0, audit.Flags);
        Assert.Null(audit.Items.Gini);
        Assert.Empty(experiment.Dimensions);
        foreach (var json in new[] { JsonSerializer.Serialize(audit), JsonSerializer.Serialize(experiment) })
        {
            using var document = JsonDocument.Parse(json);
            Assert.DoesNotContain("NaN", json);
            Assert.DoesNotContain("Infinity", json);
        }

        Assert.Contains("Items: nothing shown yet.", FairnessSummary.Render(audit));
    }

    [Fact]
    public void Degenerate_groups_serialise_unknown_figures_as_null_in_snake_case()
    {
        // One user (no spread), a group nobody in it was shown anything, and an experiment arm without users.
        var audit = FairnessAuditor.Audit(Gender(("female", GroupTally.ForUser(3, 24, 1, 0, 0)), ("male", GroupTally.ForUser(0, 0, 0, 0, 0))));
        var experiment = FairnessAuditor.AuditExperiment(new ExperimentAuditInput
        {
            ExperimentId = "exp-2",
            ControlVariant = "a",
            Groups = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, GroupTally>>>
            {
                [FairnessDimensions.Gender] = new Dictionary<string, IReadOnlyDictionary<string, GroupTally>>
                {
                    ["female"] = new Dictionary<string, GroupTally> { ["b"] = GroupTally.ForUser(2, 16, 1, 1, 9.5) },
                },
            },
        });

        var json = JsonSerializer.Serialize(audit) + JsonSerializer.Serialize(experiment);
        Assert.DoesNotContain("NaN", json);
        Assert.DoesNotContain("Infinity", json);
        using var document = JsonDocument.Parse(JsonSerializer.Serialize(audit));
        var female = document.RootElement.GetProperty("dimensions")[0].GetProperty("groups")[0];
        Assert.Equal(JsonValueKind.Null, female.GetProperty("ctr").GetProperty("lower").ValueKind);
        Assert.Equal(1.0 / 3, female.GetProperty("ctr").GetProperty("value").GetDouble(), 15);
        Assert.Equal("too_small", female.GetProperty("four_fifths")[0].GetProperty("verdict").GetString());
        Assert.Equal("exposure_per_user", female.GetProperty("four_fifths")[0].GetProperty("metric").GetString());
        Assert.Equal(1, female.GetProperty("tally").GetProperty("exposed_users").GetInt64());
        // Wilson keeps a group without conversions inside [0, 1] where a Wald interval would collapse to [0, 0].
        var none = FairnessAuditor.Wilson(0, 50, 1.959963984540054);
        Assert.Equal(0, none.Lower);
        Assert.InRange(none.Upper!.Value, 0.07, 0.08);
        var arm = experiment.Dimensions.Single().Groups.Single().Effects.Single();
        Assert.Null(arm.Conversion.Difference);
        Assert.Null(arm.Conversion.PValue);
    }

    [Fact]
    public void An_input_sent_as_json_gives_the_same_audit()
    {
        var input = Gender(("female", Users(300, 3, 0.1, 0.1, 20)), ("male", Users(300, 6, 0.1, 0.1, 21))) with
        {
            ItemImpressions = new Dictionary<string, long> { ["sku-1"] = 900, ["sku-2"] = 40 },
            CatalogSize = 5,
        };

        var json = JsonSerializer.Serialize(input);
        var roundTripped = JsonSerializer.Deserialize<AuditInput>(json)!;

        Assert.Contains("\"catalog_size\":5", json);
        Assert.Contains("\"clicks_impressions_sum\":", json);
        Assert.Equal(JsonSerializer.Serialize(FairnessAuditor.Audit(input)), JsonSerializer.Serialize(FairnessAuditor.Audit(roundTripped)));
    }

    [Fact]
    public void Dimensions_come_in_the_documented_order_with_unknown_ones_last()
    {
        var tally = Users(10, 2, 0.1, 0.1, 19);
        var audit = FairnessAuditor.Audit(new AuditInput
        {
            Groups = new Dictionary<string, IReadOnlyDictionary<string, GroupTally>>
            {
                ["loyalty_tier"] = new Dictionary<string, GroupTally> { ["gold"] = tally },
                [FairnessDimensions.Visitor] = new Dictionary<string, GroupTally> { [FairnessDimensions.NewVisitor] = tally },
                [FairnessDimensions.Segment] = new Dictionary<string, GroupTally> { ["bargain-hunters"] = tally },
            },
        });

        Assert.Equal(["segment", "visitor", "loyalty_tier"], audit.Dimensions.Select(d => d.Dimension));
    }

    [Fact]
    public void Invalid_options_and_inconsistent_tallies_are_reported_all_at_once()
    {
        var options = new FairnessOptions { MinimumUsers = 0, FourFifthsThreshold = 1.5, Alpha = 0, HeadFraction = 1, TopItems = 0 };
        Assert.Equal(5, options.Validate().Count);
        Assert.All(options.Validate(), p => Assert.StartsWith("ProfileGrid:Fairness:", p));

        var bad = new GroupTally { Users = 5, ExposedUsers = 6, Converters = 7 };
        var error = Assert.Throws<ArgumentException>(() => FairnessAuditor.Audit(Gender(("female", bad))));
        Assert.Contains("groups[gender][female].exposed_users (6) exceeds users (5)", error.Message);
        Assert.Contains("converters (7) exceeds exposed_users (6)", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => GroupTally.ForUser(-1, 0, 0, 0, 0));
    }

    [Fact]
    public void Item_exposure_counts_never_shown_catalog_items_and_says_what_the_long_tail_is()
    {
        var items = new Dictionary<string, long> { ["a"] = 70, ["b"] = 20, ["c"] = 10 };

        var audit = ItemExposure.Measure(items, catalogSize: 10);

        // Ten items, the head is the top 2: a and b take 90%.
        Assert.Equal(2, audit.HeadItems);
        Assert.Equal(0.9, audit.HeadShare!.Value, 12);
        Assert.Equal(0.1, audit.LongTailShare!.Value, 12);
        Assert.Equal(0.3, audit.Coverage!.Value, 12);
        Assert.Contains("2 most-shown of 10 catalog items", audit.LongTailDefinition);
        // Equal exposure over every catalog item is a Gini of 0.
        Assert.Equal(0, ItemExposure.Measure(Enumerable.Range(0, 10).ToDictionary(i => $"i{i}", _ => 5L), 10).Gini!.Value, 12);
        Assert.NotNull(ItemExposure.Measure(items, catalogSize: 2).Caveat);
    }
}
