using System.Globalization;
using ProfileGrid.Recommendations.Catalog;

namespace ProfileGrid.Recommendations.Rules;

/// <summary>Rules as stored after validation (normalised), or the problems that kept them out.</summary>
/// <param name="Rules">The rules normalised (category and tag codes trimmed and lower-cased, currencies upper-cased,
/// segment trimmed); null when there were problems.</param>
/// <param name="Problems">Every problem found, each naming its field (<c>rules[2].action.factor</c>); empty when valid.</param>
public sealed record RuleValidation(IReadOnlyList<RecommendationRule>? Rules, IReadOnlyList<FieldProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;
}

/// <summary>
/// Validates and normalises rules. Reports every problem at once, each naming its field as the client wrote it, so a
/// marketer fixes a rule set in one round trip. Rules without an id are valid here; <see cref="RuleSetEditor"/> gives
/// them one.
/// </summary>
public static class RuleValidator
{
    /// <summary>A whole rule set (a replace), fields named <c>rules[i].…</c>; also checks the count and duplicate ids.</summary>
    public static RuleValidation Validate(IReadOnlyList<RecommendationRule?>? rules)
    {
        var problems = new List<FieldProblem>();
        if (rules is null)
        {
            return new RuleValidation([], problems);
        }

        if (rules.Count > RuleLimits.MaxRules)
        {
            problems.Add(new FieldProblem("rules", $"holds {rules.Count} rules; the limit is {RuleLimits.MaxRules} per tenant"));
        }

        var normalized = new List<RecommendationRule>(rules.Count);
        var firstWithId = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var path = $"rules[{i}]";
            if (rules[i] is not { } rule)
            {
                problems.Add(new FieldProblem(path, "is required (null rule)"));
                continue;
            }

            normalized.Add(Check(rule, path, problems));
            if (rule.Id is { } id && !firstWithId.TryAdd(id, i))
            {
                problems.Add(new FieldProblem(path + ".id", $"'{TextChecks.Truncate(id)}' repeats rules[{firstWithId[id]}].id"));
            }
        }

        return new RuleValidation(problems.Count == 0 ? normalized : null, problems);
    }

    /// <summary>One rule (a create or update), fields named <c><paramref name="path"/>.…</c>.</summary>
    public static RuleValidation Validate(RecommendationRule? rule, string path = "rule")
    {
        var problems = new List<FieldProblem>();
        if (rule is null)
        {
            problems.Add(new FieldProblem(path, "is required"));
            return new RuleValidation(null, problems);
        }

        var normalized = Check(rule, path, problems);
        return new RuleValidation(problems.Count == 0 ? [normalized] : null, problems);
    }

    private static RecommendationRule Check(RecommendationRule rule, string path, List<FieldProblem> problems)
    {
        void Fail(string field, string reason) => problems.Add(new FieldProblem($"{path}.{field}", reason));

        if (rule.Id is not null && (TextChecks.IdProblem(rule.Id, RuleLimits.MaxRuleIdLength) ?? TextChecks.DotSegmentProblem(rule.Id)) is { } idProblem)
        {
            Fail("id", idProblem);
        }

        if (TextChecks.TextProblem(rule.Name, RuleLimits.MaxNameLength) is { } nameProblem)
        {
            Fail("name", nameProblem);
        }
        else if (rule.Name is not null && TextChecks.HasControlCharacters(rule.Name))
        {
            Fail("name", "contains control characters");
        }

        if (TextChecks.TextProblem(rule.Description, RuleLimits.MaxDescriptionLength) is { } descriptionProblem)
        {
            Fail("description", descriptionProblem);
        }

        var segment = string.IsNullOrWhiteSpace(rule.Segment) ? null : rule.Segment.Trim();
        if (segment is not null && TextChecks.IdProblem(segment, RuleLimits.MaxSegmentLength) is { } segmentProblem)
        {
            Fail("segment", segmentProblem);
        }

        if (rule.Priority is < -RuleLimits.MaxPriority or > RuleLimits.MaxPriority)
        {
            Fail("priority", $"must be between -{RuleLimits.MaxPriority} and {RuleLimits.MaxPriority} ({rule.Priority})");
        }

        if (rule.StartsAt is { } starts && rule.EndsAt is { } ends && ends <= starts)
        {
            Fail("ends_at", $"must be after starts_at ({ends:yyyy-MM-ddTHH:mm:ssZ} is not after {starts:yyyy-MM-ddTHH:mm:ssZ})");
        }

        var action = CheckAction(rule.Action, path + ".action", problems);
        return rule with
        {
            Segment = segment,
            StartsAt = rule.StartsAt?.ToUniversalTime(),
            EndsAt = rule.EndsAt?.ToUniversalTime(),
            Action = action,
        };
    }

    private static RuleAction? CheckAction(RuleAction? action, string path, List<FieldProblem> problems)
    {
        void Fail(string field, string reason) => problems.Add(new FieldProblem($"{path}.{field}", reason));

        if (action is null)
        {
            problems.Add(new FieldProblem(path, $"is required ({string.Join(", ", RuleActionTypes.All)})"));
            return null;
        }

        var type = action.Type?.Trim().ToLowerInvariant();
        switch (type)
        {
            case RuleActionTypes.Pin:
                {
                    var items = CheckItems(action.Items, "items", RuleLimits.MaxPinnedItems, required: true);
                    if (action.Position is { } position && (position < 1 || position > RuleLimits.MaxPinPosition))
                    {
                        Fail("position", $"must be between 1 and {RuleLimits.MaxPinPosition} ({position})");
                    }

                    NotUsed(action.Match, "match");
                    NotUsed(action.Factor, "factor");
                    NotUsed(action.Categories, "categories");
                    NotUsed(action.Tags, "tags");
                    NotUsed(action.MaxPerCategory, "max_per_category");
                    NotUsedFilters();
                    return new RuleAction { Type = type, Items = items, Position = action.Position ?? 1 };
                }

            case RuleActionTypes.Boost:
                {
                    var match = CheckMatch(action.Match, path + ".match", problems);
                    if (action.Factor is not { } factor)
                    {
                        Fail("factor", "is required (> 1 raises the matching items, < 1 buries them, e.g. 0.5)");
                    }
                    else if (!(factor > 0) || double.IsInfinity(factor))
                    {
                        Fail("factor", $"must be > 0 ({factor.ToString(CultureInfo.InvariantCulture)})");
                    }
                    else if (factor < RuleLimits.MinFactor || factor > RuleLimits.MaxFactor)
                    {
                        Fail("factor", $"must be between {RuleLimits.MinFactor.ToString(CultureInfo.InvariantCulture)} and {RuleLimits.MaxFactor.ToString(CultureInfo.InvariantCulture)} ({factor.ToString(CultureInfo.InvariantCulture)}); to show or hide items for certain, pin or exclude them");
                    }

                    NotUsed(action.Items, "items");
                    NotUsed(action.Position, "position");
                    NotUsed(action.Categories, "categories");
                    NotUsed(action.Tags, "tags");
                    NotUsed(action.MaxPerCategory, "max_per_category");
                    NotUsedFilters();
                    return new RuleAction { Type = type, Match = match, Factor = action.Factor };
                }

            case RuleActionTypes.Exclude:
                {
                    var items = CheckItems(action.Items, "items", RuleLimits.MaxExcludedItems, required: false);
                    var categories = CheckCodes(action.Categories, "categories", RuleLimits.MaxCategoryLength);
                    var tags = CheckCodes(action.Tags, "tags", RuleLimits.MaxTagLength);
                    if ((action.Items?.Count ?? 0) + (action.Categories?.Count ?? 0) + (action.Tags?.Count ?? 0) == 0)
                    {
                        problems.Add(new FieldProblem(path, "an exclude action needs items, categories or tags"));
                    }

                    NotUsed(action.Match, "match");
                    NotUsed(action.Factor, "factor");
                    NotUsed(action.Position, "position");
                    NotUsed(action.MaxPerCategory, "max_per_category");
                    NotUsedFilters();
                    return new RuleAction { Type = type, Items = items, Categories = categories, Tags = tags };
                }

            case RuleActionTypes.LimitPerCategory:
                {
                    if (action.MaxPerCategory is not { } max)
                    {
                        Fail("max_per_category", "is required");
                    }
                    else if (max < 1 || max > RuleLimits.MaxPerCategory)
                    {
                        Fail("max_per_category", $"must be between 1 and {RuleLimits.MaxPerCategory} ({max})");
                    }

                    NotUsed(action.Items, "items");
                    NotUsed(action.Position, "position");
                    NotUsed(action.Match, "match");
                    NotUsed(action.Factor, "factor");
                    NotUsed(action.Categories, "categories");
                    NotUsed(action.Tags, "tags");
                    NotUsedFilters();
                    return new RuleAction { Type = type, MaxPerCategory = action.MaxPerCategory };
                }

            case RuleActionTypes.Filter:
                {
                    if (action.ExcludePurchased is null && action.ExcludeSeenWithinDays is null)
                    {
                        problems.Add(new FieldProblem(path, "a filter action needs exclude_purchased or exclude_seen_within_days"));
                    }

                    if (action.ExcludeSeenWithinDays is { } days && (days < 0 || days > RuleLimits.MaxSeenWithinDays))
                    {
                        Fail("exclude_seen_within_days", $"must be between 0 (off) and {RuleLimits.MaxSeenWithinDays} ({days})");
                    }

                    NotUsed(action.Items, "items");
                    NotUsed(action.Position, "position");
                    NotUsed(action.Match, "match");
                    NotUsed(action.Factor, "factor");
                    NotUsed(action.Categories, "categories");
                    NotUsed(action.Tags, "tags");
                    NotUsed(action.MaxPerCategory, "max_per_category");
                    return new RuleAction { Type = type, ExcludePurchased = action.ExcludePurchased, ExcludeSeenWithinDays = action.ExcludeSeenWithinDays };
                }

            case "bury":
                Fail("type", "'bury' is a boost with a factor below 1: use {\"type\": \"boost\", \"factor\": 0.5, ...}");
                return action;

            case null or "":
                Fail("type", $"is required (one of {string.Join(", ", RuleActionTypes.All)})");
                return action;

            default:
                Fail("type", $"'{TextChecks.Truncate(action.Type!)}' is not one of {string.Join(", ", RuleActionTypes.All)}");
                return action;
        }

        void NotUsed(object? value, string field)
        {
            if (value is not null)
            {
                Fail(field, $"is not read by a {type} action (remove it)");
            }
        }

        void NotUsedFilters()
        {
            NotUsed(action.ExcludePurchased, "exclude_purchased");
            NotUsed(action.ExcludeSeenWithinDays, "exclude_seen_within_days");
        }

        IReadOnlyList<string>? CheckItems(IReadOnlyList<string>? items, string field, int max, bool required)
        {
            if (items is null || items.Count == 0)
            {
                if (required)
                {
                    Fail(field, "needs at least one item id");
                }

                return items;
            }

            if (items.Count > max)
            {
                Fail(field, $"lists {items.Count} items; the limit is {max}");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < items.Count; i++)
            {
                if ((TextChecks.IdProblem(items[i], RuleLimits.MaxItemIdLength) ?? Catalog.CatalogValidator.ItemIdShapeProblem(items[i])) is { } problem)
                {
                    Fail($"{field}[{i}]", problem);
                }
                else if (!seen.Add(items[i]))
                {
                    Fail($"{field}[{i}]", $"'{TextChecks.Truncate(items[i])}' is listed twice");
                }
            }

            return items;
        }

        IReadOnlyList<string>? CheckCodes(IReadOnlyList<string>? codes, string field, int maxLength)
        {
            if (codes is null)
            {
                return null;
            }

            if (codes.Count > RuleLimits.MaxExcludedCodes)
            {
                Fail(field, $"lists {codes.Count} codes; the limit is {RuleLimits.MaxExcludedCodes}");
            }

            var normalized = new List<string>(codes.Count);
            for (var i = 0; i < codes.Count; i++)
            {
                var code = TextChecks.Code(codes[i]);
                if (code is null)
                {
                    Fail($"{field}[{i}]", "is required (blank)");
                }
                else if (code.Length > maxLength)
                {
                    Fail($"{field}[{i}]", $"is {code.Length} characters long; the limit is {maxLength}");
                }
                else if (TextChecks.HasControlCharacters(code))
                {
                    Fail($"{field}[{i}]", "contains control characters");
                }
                else if (!normalized.Contains(code))
                {
                    normalized.Add(code);
                }
            }

            return normalized;
        }
    }

    private static RuleMatch? CheckMatch(RuleMatch? match, string path, List<FieldProblem> problems)
    {
        void Fail(string field, string reason) => problems.Add(new FieldProblem($"{path}.{field}", reason));

        if (match is null || (match.Category is null && match.Tag is null && match.PriceBand is null))
        {
            problems.Add(new FieldProblem(path, "is required: a category, a tag or a price_band (all that are given must hold)"));
            return match;
        }

        string? Code(string? value, string field, int maxLength)
        {
            if (value is null)
            {
                return null;
            }

            var code = TextChecks.Code(value);
            if (code is null)
            {
                Fail(field, "is blank (leave it out to match any)");
            }
            else if (code.Length > maxLength)
            {
                Fail(field, $"is {code.Length} characters long; the limit is {maxLength}");
            }
            else if (TextChecks.HasControlCharacters(code))
            {
                Fail(field, "contains control characters");
            }

            return code;
        }

        var category = Code(match.Category, "category", RuleLimits.MaxCategoryLength);
        var tag = Code(match.Tag, "tag", RuleLimits.MaxTagLength);
        PriceBand? band = null;
        if (match.PriceBand is { } given)
        {
            var currency = Iso4217.Normalize(given.Currency);
            if (string.IsNullOrWhiteSpace(given.Currency))
            {
                Fail("price_band.currency", "is required (ISO 4217, e.g. EUR): prices are compared without conversion");
            }
            else if (currency is null)
            {
                Fail("price_band.currency", $"'{TextChecks.Truncate(given.Currency)}' is not an ISO 4217 currency code (e.g. EUR)");
            }

            if (given.Min is < 0)
            {
                Fail("price_band.min", $"must be 0 or more ({given.Min.Value.ToString(CultureInfo.InvariantCulture)})");
            }

            if (given.Max is { } max && max <= (given.Min ?? 0))
            {
                Fail("price_band.max", $"must be above min ({max.ToString(CultureInfo.InvariantCulture)} is not above {(given.Min ?? 0).ToString(CultureInfo.InvariantCulture)})");
            }

            band = given with { Currency = currency ?? given.Currency };
        }

        return new RuleMatch { Category = category, Tag = tag, PriceBand = band };
    }
}
