namespace ProfileGrid.Recommendations.Rules;

/// <summary>The outcome of a change to a rule set: the new set (version one higher), or the problems that refused it.</summary>
/// <param name="RuleSet">The new set; null when refused.</param>
/// <param name="Rule">The rule as stored (normalised, with its id) for a create or update; null otherwise.</param>
/// <param name="Problems">Why the change was refused, each naming its field; empty on success.</param>
/// <param name="NotFound">True when a delete or update named a rule the set does not hold.</param>
/// <param name="Conflict">True when <c>expectedVersion</c> was given and the set had moved on.</param>
public sealed record RuleSetChange(RuleSet? RuleSet, RecommendationRule? Rule, IReadOnlyList<FieldProblem> Problems, bool NotFound = false, bool Conflict = false)
{
    public bool Succeeded => RuleSet is not null;
}

/// <summary>
/// The CRUD operations on a tenant's rule set as pure functions: the grain holding the set calls them and stores the
/// result. Every successful change raises <see cref="RuleSet.Version"/> by one and stamps <see cref="RuleSet.UpdatedAt"/>;
/// an <c>expectedVersion</c> makes the change conditional (optimistic concurrency for two marketers editing at once).
/// </summary>
public static class RuleSetEditor
{
    /// <summary>A new rule id: <c>rule-</c> and 16 hex digits (random).</summary>
    public static string NewRuleId() => "rule-" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>
    /// Creates <paramref name="rule"/> (an id is generated when it has none) or replaces the rule with its id.
    /// <paramref name="mustExist"/>: an update (PUT /rules/{id}) refuses an unknown id instead of creating it.
    /// </summary>
    public static RuleSetChange Upsert(RuleSet current, RecommendationRule rule, DateTimeOffset now, long? expectedVersion = null, bool mustExist = false, Func<string>? newId = null)
    {
        if (Conflicted(current, expectedVersion) is { } conflict)
        {
            return conflict;
        }

        var validation = RuleValidator.Validate(rule);
        if (!validation.IsValid)
        {
            return new RuleSetChange(null, null, validation.Problems);
        }

        var stored = validation.Rules![0];
        var index = stored.Id is null ? -1 : IndexOf(current, stored.Id);
        if (index < 0 && mustExist)
        {
            return new RuleSetChange(null, null, [new FieldProblem("rule.id", $"no rule '{TextChecks.Truncate(stored.Id ?? "")}'")], NotFound: true);
        }

        if (stored.Id is null)
        {
            var make = newId ?? NewRuleId;
            var id = make();
            while (IndexOf(current, id) >= 0)
            {
                id = make();
            }

            stored = stored with { Id = id };
        }

        var rules = current.Rules.ToList();
        if (index >= 0)
        {
            rules[index] = stored;
        }
        else
        {
            if (rules.Count >= RuleLimits.MaxRules)
            {
                return new RuleSetChange(null, null, [new FieldProblem("rules", $"the tenant already has {rules.Count} rules; the limit is {RuleLimits.MaxRules}")]);
            }

            rules.Add(stored);
        }

        return new RuleSetChange(Next(current, rules, now), stored, []);
    }

    /// <summary>Deletes the rule with <paramref name="ruleId"/>.</summary>
    public static RuleSetChange Delete(RuleSet current, string ruleId, DateTimeOffset now, long? expectedVersion = null)
    {
        if (Conflicted(current, expectedVersion) is { } conflict)
        {
            return conflict;
        }

        var index = IndexOf(current, ruleId);
        if (index < 0)
        {
            return new RuleSetChange(null, null, [new FieldProblem("rule_id", $"no rule '{TextChecks.Truncate(ruleId)}'")], NotFound: true);
        }

        var rules = current.Rules.ToList();
        rules.RemoveAt(index);
        return new RuleSetChange(Next(current, rules, now), null, []);
    }

    /// <summary>Replaces every rule at once (PUT /rules): all valid, or nothing changes. Rules without an id get one.</summary>
    public static RuleSetChange Replace(RuleSet current, IReadOnlyList<RecommendationRule?> rules, DateTimeOffset now, long? expectedVersion = null, Func<string>? newId = null)
    {
        if (Conflicted(current, expectedVersion) is { } conflict)
        {
            return conflict;
        }

        var validation = RuleValidator.Validate(rules);
        if (!validation.IsValid)
        {
            return new RuleSetChange(null, null, validation.Problems);
        }

        var make = newId ?? NewRuleId;
        var taken = new HashSet<string>(validation.Rules!.Where(r => r.Id is not null).Select(r => r.Id!), StringComparer.Ordinal);
        var stored = validation.Rules!.Select(r =>
        {
            if (r.Id is not null)
            {
                return r;
            }

            var id = make();
            while (!taken.Add(id))
            {
                id = make();
            }

            return r with { Id = id };
        }).ToList();
        return new RuleSetChange(Next(current, stored, now), null, []);
    }

    private static RuleSetChange? Conflicted(RuleSet current, long? expectedVersion) =>
        expectedVersion is { } expected && expected != current.Version
            ? new RuleSetChange(null, null, [new FieldProblem("expected_version", $"is {expected}, but the rule set is at version {current.Version}: reload and retry")], Conflict: true)
            : null;

    private static int IndexOf(RuleSet set, string id)
    {
        for (var i = 0; i < set.Rules.Count; i++)
        {
            if (string.Equals(set.Rules[i].Id, id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    // UpdatedAt never goes back, even if a silo's clock does: caches compare it.
    private static RuleSet Next(RuleSet current, IReadOnlyList<RecommendationRule> rules, DateTimeOffset now) =>
        new() { Version = current.Version + 1, UpdatedAt = now > current.UpdatedAt ? now : current.UpdatedAt, Rules = rules };
}
