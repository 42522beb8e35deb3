using FsCheck.Xunit;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Recommendations.Tests.Rules;

/// <summary>
/// Invariants of the engine on random shops, candidate lists, users and rule sets (built from FsCheck's seed, so a
/// failure names the seed that reproduces it).
/// </summary>
public class RuleEngineProperties
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] Sources =
        [RecommendationSources.ItemItemCf, RecommendationSources.Ease, RecommendationSources.Popular, RecommendationSources.Trending, RecommendationSources.SegmentPopular];

    private static readonly string?[] Segments = [null, "*", "s1", "s2", "high-value"];

    private sealed record Scenario(
        Dictionary<string, CatalogItem> Catalog, IReadOnlyList<ScoredItem> Candidates, ServingContext Context, RuleSet Rules);

    [Property(MaxTest = 400)]
    public void The_list_never_holds_a_filtered_excluded_or_repeated_item_nor_more_than_n(int seed)
    {
        var s = Build(seed);
        var outcome = RuleEngine.Apply(s.Rules, s.Candidates, id => s.Catalog.GetValueOrDefault(id), s.Context);
        var ids = outcome.Items.Select(i => i.Item.ItemId).ToList();
        var inForce = InForce(s).ToList();

        Assert.True(ids.Count <= Math.Max(0, s.Context.Count), $"seed {seed}: {ids.Count} items for n = {s.Context.Count}");
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.DoesNotContain(ids, id => s.Catalog.TryGetValue(id, out var item) && !item.Available);
        Assert.DoesNotContain(ids, s.Context.Exclude.Contains);
        Assert.DoesNotContain(s.Context.PageItem, ids);
        Assert.Equal(inForce.Select(r => r.Id!), outcome.RulesInForce);

        foreach (var rule in inForce.Where(r => r.Action!.Type == RuleActionTypes.Exclude))
        {
            Assert.DoesNotContain(ids, id => rule.Action!.Items?.Contains(id) == true
                || (s.Catalog.GetValueOrDefault(id) is { } item
                    && ((item.Category is not null && rule.Action.Categories?.Contains(item.Category) == true)
                        || item.Tags.Any(t => rule.Action.Tags?.Contains(t) == true))));
        }

        var excludePurchased = inForce.FirstOrDefault(r => r.Action!.ExcludePurchased is not null)?.Action!.ExcludePurchased ?? true;
        if (excludePurchased && !s.Context.OptedOut)
        {
            Assert.DoesNotContain(ids, s.Context.Purchased.Contains);
        }
    }

    [Property(MaxTest = 400)]
    public void Pins_are_known_available_items_and_scores_never_rise_down_the_list(int seed)
    {
        var s = Build(seed);
        var outcome = RuleEngine.Apply(s.Rules, s.Candidates, id => s.Catalog.GetValueOrDefault(id), s.Context);

        foreach (var ranked in outcome.Items.Where(i => i.Item.Source == RecommendationSources.Rule))
        {
            Assert.True(s.Catalog.TryGetValue(ranked.Item.ItemId, out var item) && item.Available, $"seed {seed}: pinned {ranked.Item.ItemId}");
            Assert.Equal([ranked.Item.Because!], ranked.RuleIds);
        }

        for (var i = 1; i < outcome.Items.Count; i++)
        {
            var (above, below) = (outcome.Items[i - 1].Item.Score, outcome.Items[i].Item.Score);
            Assert.True(above >= below || double.IsNegativeInfinity(below), $"seed {seed}: position {i + 1} scores {below} under {above}");
        }
    }

    [Property(MaxTest = 400)]
    public void An_opted_out_user_gets_only_non_personal_items_and_no_segment_rule(int seed)
    {
        var s = Build(seed);
        var context = s.Context with { Personalized = false };
        var outcome = RuleEngine.Apply(s.Rules, s.Candidates, id => s.Catalog.GetValueOrDefault(id), context);

        Assert.All(outcome.Items, i => Assert.True(RuleEngine.NonPersonalSources.Contains(i.Item.Source), $"seed {seed}: {i.Item}"));
        var segmentRules = s.Rules.Rules.Where(r => !r.IsForEveryone).Select(r => r.Id).ToHashSet();
        Assert.DoesNotContain(outcome.RulesInForce, segmentRules.Contains);
        // Nothing about the user changes the list: the same request without their history and segments is equal.
        var anonymous = RuleEngine.Apply(s.Rules, s.Candidates, id => s.Catalog.GetValueOrDefault(id), context with
        {
            Segments = [], Purchased = new HashSet<string>(), SeenAt = new Dictionary<string, DateTimeOffset>(),
        });
        Assert.Equal(anonymous.Items.Select(i => i.Item), outcome.Items.Select(i => i.Item));
    }

    [Property(MaxTest = 400)]
    public void The_category_limit_holds_and_without_it_the_list_fills_n(int seed)
    {
        var s = Build(seed);
        var outcome = RuleEngine.Apply(s.Rules, s.Candidates, id => s.Catalog.GetValueOrDefault(id), s.Context);
        var inForce = InForce(s).ToList();

        if (inForce.FirstOrDefault(r => r.Action!.Type == RuleActionTypes.LimitPerCategory) is { } limit)
        {
            var max = limit.Action!.MaxPerCategory!.Value;
            foreach (var group in outcome.Items.GroupBy(i => s.Catalog.GetValueOrDefault(i.Item.ItemId)?.Category).Where(g => g.Key is not null))
            {
                var pinned = group.Count(i => i.Item.Source == RecommendationSources.Rule);
                Assert.True(group.Count() <= Math.Max(max, pinned), $"seed {seed}: {group.Count()} items of {group.Key}, limit {max}");
            }
        }
        else
        {
            // Every candidate that got through the filters and exclusions is either shown or was beaten to the n slots.
            var shown = outcome.Items.Select(i => i.Item.ItemId).ToHashSet();
            var left = s.Candidates.Select(c => c.ItemId).Distinct()
                .Where(id => !shown.Contains(id) && !outcome.Removed.Any(r => r.ItemId == id))
                .ToList();
            Assert.True(left.Count == 0 || outcome.Items.Count == s.Context.Count, $"seed {seed}: {left.Count} eligible left out of a list of {outcome.Items.Count} < {s.Context.Count}");
        }
    }

    /// <summary>The rules that apply to the scenario's request, in order of application (priority, then id).</summary>
    private static IEnumerable<RecommendationRule> InForce(Scenario s) =>
        s.Rules.Rules
            .Where(r => r.IsActiveAt(Now) && (r.IsForEveryone || (!s.Context.OptedOut && s.Context.Segments.Contains(r.Segment!))))
            .OrderBy(r => r.Priority)
            .ThenBy(r => r.Id, StringComparer.Ordinal);

    private static Scenario Build(int seed)
    {
        var random = new Random(seed);
        T Pick<T>(IReadOnlyList<T> from) => from[random.Next(from.Count)];
        string[] categories = ["c0", "c1", "c2", "c3"];
        string[] tags = ["t0", "t1", "t2"];

        var catalog = new Dictionary<string, CatalogItem>();
        for (var i = 0; i < 30; i++)
        {
            var id = $"i{i}";
            catalog[id] = new CatalogItem(
                id,
                random.Next(10) == 0 ? null : Pick(categories),
                random.Next(5) == 0 ? null : random.Next(0, 500),
                random.Next(3) == 0 ? "USD" : "EUR",
                random.Next(5) != 0,
                tags.Where(_ => random.Next(3) == 0).ToArray(),
                new Dictionary<string, string>());
        }

        // Ids the catalog does not know (u*) as well as known ones.
        var allIds = catalog.Keys.Concat(Enumerable.Range(0, 5).Select(i => $"u{i}")).ToArray();
        var candidates = Enumerable.Range(0, random.Next(0, 60))
            .Select(_ => new ScoredItem(Pick(allIds), random.Next(50) == 0 ? double.NaN : Math.Round(random.NextDouble() * 3 - 1, 2), Pick(Sources)))
            .OrderByDescending(c => double.IsNaN(c.Score) ? double.NegativeInfinity : c.Score)
            .ToArray();

        var context = new ServingContext
        {
            Count = random.Next(0, 16),
            Now = Now,
            Segments = new[] { "s1", "s2", "high-value" }.Where(_ => random.Next(2) == 0).ToArray(),
            Purchased = allIds.Where(_ => random.Next(6) == 0).ToHashSet(),
            SeenAt = allIds.Where(_ => random.Next(6) == 0).ToDictionary(id => id, _ => Now.AddDays(-random.Next(0, 30))),
            Exclude = allIds.Where(_ => random.Next(10) == 0).ToHashSet(),
            PageItem = random.Next(2) == 0 ? Pick(allIds) : null,
            Personalized = Pick(new bool?[] { null, true, false }),
        };

        var rules = new List<RecommendationRule>();
        for (var r = random.Next(0, 9); r > 0; r--)
        {
            RuleAction action = random.Next(5) switch
            {
                0 => new RuleAction { Type = "pin", Items = allIds.OrderBy(_ => random.Next()).Take(random.Next(1, 5)).ToArray(), Position = random.Next(1, 12) },
                1 => new RuleAction
                {
                    Type = "boost",
                    Factor = Pick(new[] { 0.1, 0.5, 1, 2, 10 }),
                    Match = random.Next(3) switch
                    {
                        0 => new RuleMatch { Category = Pick(categories) },
                        1 => new RuleMatch { Tag = Pick(tags) },
                        _ => new RuleMatch { PriceBand = new PriceBand { Min = random.Next(0, 200), Max = random.Next(2) == 0 ? null : random.Next(250, 500), Currency = "EUR" } },
                    },
                },
                2 => new RuleAction
                {
                    Type = "exclude",
                    Items = allIds.Where(_ => random.Next(10) == 0).ToArray(),
                    Categories = random.Next(2) == 0 ? [Pick(categories)] : null,
                    Tags = random.Next(3) == 0 ? [Pick(tags)] : null,
                },
                3 => new RuleAction { Type = "limit_per_category", MaxPerCategory = random.Next(1, 4) },
                _ => new RuleAction { Type = "filter", ExcludePurchased = random.Next(2) == 0, ExcludeSeenWithinDays = random.Next(2) == 0 ? random.Next(0, 20) : null },
            };
            if (action.Type == "exclude" && (action.Items?.Count ?? 0) + (action.Categories?.Count ?? 0) + (action.Tags?.Count ?? 0) == 0)
            {
                action = action with { Items = [Pick(allIds)] };
            }

            rules.Add(new RecommendationRule
            {
                Id = $"r{r}",
                Segment = Pick(Segments),
                Enabled = random.Next(10) != 0,
                Priority = random.Next(-3, 4),
                StartsAt = random.Next(4) == 0 ? Now.AddDays(random.Next(-2, 3)) : null,
                EndsAt = random.Next(4) == 0 ? Now.AddDays(random.Next(3, 5)) : null,
                Action = action,
            });
        }

        var change = RuleSetEditor.Replace(RuleSet.Empty, rules, Now);
        Assert.True(change.Succeeded, $"seed {seed}: " + string.Join("; ", change.Problems));
        return new Scenario(catalog, candidates, context, change.RuleSet!);
    }
}
