using ProfileGrid.Recommendations.Rules;
using static ProfileGrid.Recommendations.Tests.Rules.Shop;

namespace ProfileGrid.Recommendations.Tests.Rules;

public class RuleSetEditorTests
{
    [Fact]
    public void Create_generates_an_id_and_raises_the_version()
    {
        var change = RuleSetEditor.Upsert(RuleSet.Empty, new RecommendationRule { Action = Pin(1, "a") }, Now);

        Assert.True(change.Succeeded);
        Assert.Equal(1, change.RuleSet!.Version);
        Assert.Equal(Now, change.RuleSet.UpdatedAt);
        Assert.Matches("^rule-[0-9a-f]{16}$", change.Rule!.Id);
        Assert.Equal(change.Rule, change.RuleSet.Rules.Single());
    }

    [Fact]
    public void Upsert_with_a_known_id_replaces_the_rule_in_place()
    {
        var set = Set(Rule("a", Pin(1, "a")), Rule("b", Pin(1, "b")));

        var change = RuleSetEditor.Upsert(set, Rule("a", Boost(2, tag: "premium")), Now.AddMinutes(1));

        Assert.Equal(set.Version + 1, change.RuleSet!.Version);
        Assert.Equal(["a", "b"], change.RuleSet.Rules.Select(r => r.Id));
        Assert.Equal(RuleActionTypes.Boost, change.RuleSet.Rules[0].Action!.Type);
    }

    [Fact]
    public void An_update_of_an_unknown_rule_is_not_found()
    {
        var change = RuleSetEditor.Upsert(RuleSet.Empty, Rule("ghost", Pin(1, "a")), Now, mustExist: true);

        Assert.False(change.Succeeded);
        Assert.True(change.NotFound);
        Assert.Equal("rule.id: no rule 'ghost'", change.Problems.Single().ToString());
    }

    [Fact]
    public void An_invalid_rule_changes_nothing_and_names_its_field()
    {
        var change = RuleSetEditor.Upsert(RuleSet.Empty, Rule("r", Boost(0, tag: "x")), Now);

        Assert.Null(change.RuleSet);
        Assert.Equal("rule.action.factor: must be > 0 (0)", change.Problems.Single().ToString());
    }

    [Fact]
    public void Delete_removes_the_rule_or_says_it_is_not_there()
    {
        var set = Set(Rule("a", Pin(1, "a")), Rule("b", Pin(1, "b")));

        var deleted = RuleSetEditor.Delete(set, "a", Now);
        var missing = RuleSetEditor.Delete(set, "zzz", Now);

        Assert.Equal(["b"], deleted.RuleSet!.Rules.Select(r => r.Id));
        Assert.Equal(set.Version + 1, deleted.RuleSet.Version);
        Assert.True(missing.NotFound);
    }

    [Fact]
    public void A_stale_expected_version_is_a_conflict()
    {
        var set = Set(Rule("a", Pin(1, "a")));

        var stale = RuleSetEditor.Delete(set, "a", Now, expectedVersion: set.Version - 1);
        var current = RuleSetEditor.Delete(set, "a", Now, expectedVersion: set.Version);

        Assert.True(stale.Conflict);
        Assert.Equal("expected_version: is 0, but the rule set is at version 1: reload and retry", stale.Problems.Single().ToString());
        Assert.True(current.Succeeded);
    }

    [Fact]
    public void Replace_is_all_or_nothing_and_gives_ids_to_new_rules()
    {
        var set = Set(Rule("old", Pin(1, "a")));
        var ids = new Queue<string>(["old", "n1"]); // the first generated id collides and is drawn again

        var replaced = RuleSetEditor.Replace(set, [Rule("keep", Pin(1, "b")), new RecommendationRule { Action = Pin(1, "c") }, Rule("old", Pin(1, "d"))], Now, newId: ids.Dequeue);
        var refused = RuleSetEditor.Replace(set, [Rule("ok", Pin(1, "b")), Rule("bad", Pin(0, "c"))], Now);

        Assert.Equal(["keep", "n1", "old"], replaced.RuleSet!.Rules.Select(r => r.Id));
        Assert.Null(refused.RuleSet);
        Assert.Equal("rules[1].action.position: must be between 1 and 100 (0)", refused.Problems.Single().ToString());
    }

    [Fact]
    public void Create_past_the_limit_is_refused()
    {
        var full = Set(Enumerable.Range(0, RuleLimits.MaxRules).Select(i => Rule($"r{i}", Pin(1, "a"))).ToArray());

        var change = RuleSetEditor.Upsert(full, Rule("one-more", Pin(1, "a")), Now);
        var update = RuleSetEditor.Upsert(full, Rule("r7", Pin(1, "b")), Now);

        Assert.Equal("rules: the tenant already has 200 rules; the limit is 200", change.Problems.Single().ToString());
        Assert.True(update.Succeeded);
    }

    [Fact]
    public void Updated_at_never_goes_back()
    {
        var set = RuleSetEditor.Upsert(RuleSet.Empty, Rule("a", Pin(1, "a")), Now).RuleSet!;

        var next = RuleSetEditor.Upsert(set, Rule("b", Pin(1, "b")), Now.AddMinutes(-5)).RuleSet!;

        Assert.Equal(Now, next.UpdatedAt);
        Assert.Equal(2, next.Version);
    }
}
