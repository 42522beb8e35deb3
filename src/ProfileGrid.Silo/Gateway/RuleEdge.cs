using System.Globalization;
using ProfileGrid.Recommendations.Rules;
using Wire = ProfileGrid.Contracts.V1;

namespace ProfileGrid.Silo.Gateway;

/// <summary>Segment rules at the edge: wire rules into the library's (which validates them), and back.</summary>
internal static class RuleEdge
{
    /// <summary>The library's rule, or the wire fields it could not even read (times, decimal strings), named by field.</summary>
    public static RecommendationRule FromProto(Wire.RecommendationRule wire, string path, List<string> problems)
    {
        var action = wire.Action;
        return new RecommendationRule
        {
            Id = Empty(wire.Id),
            Name = Empty(wire.Name),
            Description = Empty(wire.Description),
            Segment = Empty(wire.Segment),
            Enabled = !wire.HasEnabled || wire.Enabled,
            Priority = wire.Priority,
            StartsAt = Time(wire.StartsAt, $"{path}.starts_at", problems),
            EndsAt = Time(wire.EndsAt, $"{path}.ends_at", problems),
            Action = action is null ? null : new RuleAction
            {
                Type = Empty(action.Type),
                Items = action.Items.Count == 0 ? null : action.Items.ToArray(),
                Position = action.HasPosition ? action.Position : null,
                Match = action.Match is null ? null : new RuleMatch
                {
                    Category = Empty(action.Match.Category),
                    Tag = Empty(action.Match.Tag),
                    PriceBand = action.Match.PriceBand is null ? null : new PriceBand
                    {
                        Min = Amount(action.Match.PriceBand.Min, $"{path}.action.match.price_band.min", problems),
                        Max = Amount(action.Match.PriceBand.Max, $"{path}.action.match.price_band.max", problems),
                        Currency = Empty(action.Match.PriceBand.Currency),
                    },
                },
                Factor = action.HasFactor ? action.Factor : null,
                Categories = action.Categories.Count == 0 ? null : action.Categories.ToArray(),
                Tags = action.Tags.Count == 0 ? null : action.Tags.ToArray(),
                MaxPerCategory = action.HasMaxPerCategory ? action.MaxPerCategory : null,
                ExcludePurchased = action.HasExcludePurchased ? action.ExcludePurchased : null,
                ExcludeSeenWithinDays = action.HasExcludeSeenWithinDays ? action.ExcludeSeenWithinDays : null,
            },
        };
    }

    public static Wire.RecommendationRule ToProto(RecommendationRule rule)
    {
        var wire = new Wire.RecommendationRule
        {
            Id = rule.Id ?? "",
            Name = rule.Name ?? "",
            Description = rule.Description ?? "",
            Segment = rule.Segment ?? "",
            Enabled = rule.Enabled,
            Priority = rule.Priority,
            StartsAt = rule.StartsAt is { } startsAt ? WireTime.Of(startsAt) : "",
            EndsAt = rule.EndsAt is { } endsAt ? WireTime.Of(endsAt) : "",
        };
        if (rule.Action is { } action)
        {
            wire.Action = new Wire.RuleAction { Type = action.Type ?? "" };
            wire.Action.Items.AddRange(action.Items ?? []);
            wire.Action.Categories.AddRange(action.Categories ?? []);
            wire.Action.Tags.AddRange(action.Tags ?? []);
            if (action.Position is { } position)
            {
                wire.Action.Position = position;
            }

            if (action.Factor is { } factor)
            {
                wire.Action.Factor = factor;
            }

            if (action.MaxPerCategory is { } max)
            {
                wire.Action.MaxPerCategory = max;
            }

            if (action.ExcludePurchased is { } purchased)
            {
                wire.Action.ExcludePurchased = purchased;
            }

            if (action.ExcludeSeenWithinDays is { } seen)
            {
                wire.Action.ExcludeSeenWithinDays = seen;
            }

            if (action.Match is { } match)
            {
                wire.Action.Match = new Wire.RuleMatch { Category = match.Category ?? "", Tag = match.Tag ?? "" };
                if (match.PriceBand is { } band)
                {
                    wire.Action.Match.PriceBand = new Wire.PriceBand
                    {
                        Min = band.Min?.ToString(CultureInfo.InvariantCulture) ?? "",
                        Max = band.Max?.ToString(CultureInfo.InvariantCulture) ?? "",
                        Currency = band.Currency ?? "",
                    };
                }
            }
        }

        return wire;
    }

    public static Wire.RuleSetResponse ToProto(string tenant, RuleSet rules)
    {
        var response = new Wire.RuleSetResponse
        {
            Tenant = tenant,
            Version = rules.Version,
            UpdatedAt = rules.Version == 0 ? "" : WireTime.Of(rules.UpdatedAt),
        };
        response.Rules.AddRange(rules.Rules.Select(ToProto));
        return response;
    }

    private static string? Empty(string value) => value.Length == 0 ? null : value;

    private static DateTimeOffset? Time(string value, string field, List<string> problems)
    {
        if (value.Length == 0)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        problems.Add(IsoTimestamps.WhyUnreadable(value) is { } why
            ? $"{field}: '{value}' {why}"
            : $"{field}: must be an ISO-8601 time such as 2026-12-24T00:00:00Z ('{value}')");
        return null;
    }

    private static decimal? Amount(string value, string field, List<string> problems)
    {
        if (value.Length == 0)
        {
            return null;
        }

        if (decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            return amount;
        }

        problems.Add($"{field}: must be a decimal string such as \"100.00\" ('{value}')");
        return null;
    }
}
